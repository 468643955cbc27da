"""What every request needs: the twores app, its store, the SSO authenticators, the
sign-in throttle and the lane writes run on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from litestar.di import NamedDependency

import twores
from twores.services.sign_in import SignInThrottle
from twores.services.users import User
from twores_web.auth import Authenticator
from twores_web.writes import WriteLane

#: The largest request body (an uploaded ledger) the app takes by default: a province's
#: ledger of about a million rows as .xlsx (60–100 MB), with room to spare (docs/web.md).
MAX_BODY_SIZE = 128 * 1024 * 1024


@attrs.frozen
class WebState:
    app: twores.Twores
    store: twores.Store
    authenticators: Sequence[Authenticator] = ()
    throttle: SignInThrottle = attrs.field(factory=SignInThrottle)
    writes: WriteLane = attrs.field(factory=WriteLane)
    max_body_size: int = MAX_BODY_SIZE

    @property
    def upload_limit(self) -> str:
        """The largest upload, as people read it (``128 MB``)."""
        return size_text(self.max_body_size)

    def too_large(self, *, upload: bool = True) -> dict[str, Any]:
        """Why a request over :attr:`max_body_size` was refused, and what to do instead:
        for an ``upload`` (a ledger file), compress, split or use the command line; for
        any other body (JSON, a form), send less."""
        limit = self.upload_limit
        if not upload:
            return {
                "code": "too_large",
                "zh": f"请求内容超过 {limit} 上限，请精简内容后重试",
                "en": f"the request body is over the {limit} limit: send less and try again",
                "max_bytes": self.max_body_size,
            }
        return {
            "code": "too_large",
            "zh": f"文件超过 {limit} 上限，请压缩为 .csv.gz 或 .csv.xz、分批导入，"
            "或用命令行 twores import 导入",
            "en": f"the file is over the {limit} limit: compress it (.csv.gz or .csv.xz), "
            "split it, or import it with the command line (twores import)",
            "max_bytes": self.max_body_size,
        }


def size_text(size: int) -> str:
    """``size`` bytes in MB or KB (binary, one decimal at most), or in bytes."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{round(size / scale, 1):g} {unit}"
    return f"{size} B"


#: Handler parameters the app injects (named explicitly, as Litestar 3 requires).
Web = NamedDependency[WebState]
CurrentUser = NamedDependency[User]
