"""Server-side sessions whose id is replaced on sign-in.

Litestar's server-side backend keeps whatever session id the browser sends, even one it
never issued; a sign-in then binds the account to an id someone else may have planted
(session fixation). :func:`start_session` marks the response so that the session is stored
under a fresh random id and the old id's data is deleted.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Message, ScopeSession

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
        await super().store_in_message(scope_session, message, connection)


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend
