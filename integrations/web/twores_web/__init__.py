"""twores web reference integration: a Litestar app over the twores services.

``create_app(app, store)`` returns an ASGI app: a JSON API under ``/api`` (OpenAPI at
``/schema``), server-rendered pages in Chinese (English with ``?lang=en``), sign-in with
argon2 password hashes, server-side sessions, CSRF protection and SSO hooks. Every request
runs with the signed-in user's scope (area subtree + role); repeated failed sign-ins are
throttled (``SignInThrottle``). See docs/web.md.
"""

from __future__ import annotations

from twores.services.sign_in import SignInThrottle
from twores_web.app import create_app
from twores_web.auth import Authenticator, Me

__all__ = ["Authenticator", "Me", "SignInThrottle", "create_app"]
