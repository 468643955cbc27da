"""Language: zh-CN by default, English on request (``?lang=en`` or the ``lang`` cookie)."""

from __future__ import annotations

from typing import Any

from litestar import Request

LANGS = ("zh", "en")
COOKIE = "lang"


def lang_of(request: Request[Any, Any, Any]) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(COOKIE)
    return asked if asked in LANGS else "zh"


def translator(lang: str) -> Any:
    """``t(zh, en)`` for templates: the text in the page's language."""

    def t(zh: str, en: str) -> str:
        return zh if lang == "zh" else en

    return t


#: Why a form without a valid CSRF token was refused (a page open too long, another tab
#: signed out and in): what to do about it, not "not allowed".
FORM_EXPIRED = (
    "表单已过期或无效，请刷新页面后重试",
    "The form has expired or is invalid: reload the page and try again",
)
