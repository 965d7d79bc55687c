"""The app's HTML pages (``templates/serve/``), and the security headers of every response.

Pages take their colours and fonts from ``_design.j2`` through one stylesheet
(``/style.css``), so the CSP allows no inline style and a page's body depends only on what
it shows (the no-enumeration answer is byte-identical for every address).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.datastructures import MutableHeaders
from starlette.responses import HTMLResponse, Response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from redline.config import Settings
    from redline.publish.templates import Templates

CSP = (
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """ASGI middleware: :data:`SECURITY_HEADERS` on every HTTP response, errors included,
    and ``Cache-Control: no-store`` unless the response set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, adding the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def start(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, start)


def site_context(settings: Settings) -> dict[str, Any]:
    """What every page and the confirmation email show of the site (no secrets)."""
    contact = settings.contact
    href = None
    if contact:
        href = contact if "://" in contact or "@" not in contact else f"mailto:{contact}"
    return {
        "site_name": settings.site_name or settings.organization or "Policy updates",
        "organization": settings.organization,
        "contact": contact,
        "contact_href": href,
    }


def sentence(message: str) -> str:
    """An error message as a sentence: capitalised, ending in one full stop."""
    text = message.strip().rstrip(".")
    return f"{text[:1].upper()}{text[1:]}."


class Pages:
    """Renders ``serve/NAME.html.j2`` with the site context."""

    def __init__(self, templates: Templates, site: Mapping[str, Any]) -> None:
        self._templates = templates
        self._site = dict(site)
        self._css: str | None = None

    def render(self, name: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
        """The page ``name`` with ``context`` (pages link relatively, so they work under any
        ``--root-path``)."""
        html = self._templates.render(f"serve/{name}.html.j2", {**self._site, **context})
        return HTMLResponse(html, status_code=status)

    def message(self, title: str, text: str, status: int = 200, **extra: Any) -> HTMLResponse:
        """A page with a heading and one paragraph (answers and refusals)."""
        return self.render("message", {"title": title, "text": text, **extra}, status)

    def stylesheet(self) -> Response:
        """``/style.css``, rendered once from ``serve/style.css.j2``."""
        if self._css is None:
            self._css = self._templates.render("serve/style.css.j2", {})
        headers = {"cache-control": "public, max-age=3600"}
        return Response(self._css, media_type="text/css", headers=headers)
