"""Server-side sessions whose id is replaced on sign-in.

Litestar's server-side backend keeps whatever session id the browser sends, even one it
never issued; a sign-in then binds the account to an id someone else may have planted
(session fixation). :func:`start_session` marks the response so that the session is stored
under a fresh random id and the old id's data is deleted. A cleared session (signing out)
deletes the cookie (``Max-Age=0``), not a ``null`` cookie kept for the idle timeout.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Empty, Message, ScopeSession

_FRESH_ID = "twores.fresh_session_id"


def start_session(request: Request[Any, Any, Any], data: dict[str, Any]) -> None:
    """Sign ``data`` in under a session id issued now, never the one the request brought."""
    request.scope[_FRESH_ID] = ""  # type: ignore[literal-required]
    request.set_session(data)


class RotatingSessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        fresh = connection.scope.get(_FRESH_ID)
        return fresh if fresh else super().get_session_id(connection)

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        if connection.scope.get(_FRESH_ID) == "":
            old = connection.cookies.get(self.config.key)
            if old and old != "null":
                await self.delete(old, store=self.config.get_store_from_app(connection.app))
            connection.scope[_FRESH_ID] = self.generate_session_id()  # type: ignore[literal-required]
        if scope_session is Empty:  # signed out: the data and the cookie go now
            await self.delete(
                self.get_session_id(connection),
                store=self.config.get_store_from_app(connection.app),
            )
            MutableScopeHeaders.from_message(message).add("Set-Cookie", self._deleted_cookie())
            return
        await super().store_in_message(scope_session, message, connection)

    def _deleted_cookie(self) -> str:
        """The session cookie emptied and expired (``Max-Age=0``, which RFC 6265 puts
        before ``Expires``): the browser drops it."""
        config = self.config
        return Cookie(
            key=config.key,
            value="null",
            path=config.path,
            domain=config.domain,
            secure=config.secure,
            httponly=config.httponly,
            samesite=config.samesite,
            expires=0,
            max_age=0,
        ).to_header(header="")


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend
