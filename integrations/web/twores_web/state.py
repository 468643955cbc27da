"""What every request needs: the twores app, its store and the SSO authenticators."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

import twores
from twores_web.auth import Authenticator


@attrs.frozen
class WebState:
    app: twores.Twores
    store: twores.Store
    authenticators: Sequence[Authenticator] = ()
