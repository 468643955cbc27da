"""What every request needs: the twores app, its store, the SSO authenticators, the
sign-in throttle and the lane writes run on."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from litestar.di import NamedDependency

import twores
from twores.services.sign_in import SignInThrottle
from twores.services.users import User
from twores_web.auth import Authenticator
from twores_web.writes import WriteLane


@attrs.frozen
class WebState:
    app: twores.Twores
    store: twores.Store
    authenticators: Sequence[Authenticator] = ()
    throttle: SignInThrottle = attrs.field(factory=SignInThrottle)
    writes: WriteLane = attrs.field(factory=WriteLane)


#: Handler parameters the app injects (named explicitly, as Litestar 3 requires).
Web = NamedDependency[WebState]
CurrentUser = NamedDependency[User]
