"""The Starlette app of ``redline serve``: sign-up with double opt-in, preferences, and the
one-click unsubscribe (RFC 8058) that every notice's List-Unsubscribe header points at.

* ``POST /unsubscribe?token=`` with the body ``List-Unsubscribe=One-Click`` unsubscribes at
  once (200, idempotent, no cookie): the signed token is the authority.
* ``GET /unsubscribe``, ``/confirm`` and ``/preferences`` only show pages; their forms POST
  with a CSRF token signed for the form's purpose and bound to a cookie (double submit).
* ``POST /subscribe`` answers the same for every address (no enumeration) and mails a
  confirmation link (signed, purpose ``confirm``, expiring after ``confirm_hours``).
* Form POSTs, and one-click POSTs whose token is not valid, are rate-limited per client
  address (``serve_rate_limit`` a minute); behind a proxy, uvicorn's ``--forwarded-allow-ips``
  decides whether the client address comes from X-Forwarded-For.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from redline.errors import InputError, RedlineError, StorageError
from redline.ledger.checks import email_key
from redline.serve.forms import Forms
from redline.serve.limits import CONFIRMATIONS_PER_ADDRESS, MAX_BODY, BodyLimit, RateLimit
from redline.serve.mailer import Confirmation, ConfirmMailer
from redline.serve.pages import Pages, SecurityHeaders, sentence, site_context
from redline.serve.service import Service
from redline.serve.tokens import Signer

if TYPE_CHECKING:
    from redline.config import Settings

LOG = logging.getLogger("redline.serve")
#: The heading and text of the page of an HTTP error Starlette raises.
STATUS_PAGES = {
    400: ("This form cannot be read", "The form sent could not be read. Nothing was changed."),
    404: ("Not here", "There is no such page."),
    405: ("Not allowed", "This page does not take that kind of request. Nothing was changed."),
}
#: Seconds a client is asked to wait when the database does not answer.
RETRY_AFTER = 60
ENV_ROOT = "REDLINE_SERVE_ROOT"
ENV_CONFIG = "REDLINE_SERVE_CONFIG"

Handler = Callable[[Request], Awaitable[Response]]


class App:
    """The app's parts, opened once per worker."""

    def __init__(self, settings: Settings) -> None:
        from redline.ledger.store import Store
        from redline.publish.templates import Templates

        self.settings = settings
        self.signer = Signer(settings.env)
        templates = Templates(settings)
        site = site_context(settings)
        self.pages = Pages(templates, site)
        self.mailer = ConfirmMailer(settings, templates, site)
        self.limit = RateLimit(settings.serve_rate_limit)
        self.mailed = RateLimit(*CONFIRMATIONS_PER_ADDRESS)
        self.store = Store.open(settings.database, clock=settings.env.clock)
        self.service = Service(settings, self.store)
        self.forms = Forms(self)

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    def refuse(self, error: RedlineError, status: int = 400) -> Response:
        """The page of a refused request: what is wrong, nothing changed."""
        text = f"{sentence(error.message)} Nothing was changed."
        return self.pages.message("This link or form cannot be used", text, status)

    def unavailable(self, error: StorageError) -> Response:
        """The 503 page of a database failure (logged, and never shown to the client)."""
        LOG.warning("a request failed: %s", error.message)
        text = "We cannot answer right now. Nothing was changed; please try again later."
        response = self.pages.message("Please try again later", text, 503)
        response.headers["retry-after"] = str(RETRY_AFTER)
        return response

    def too_large(self) -> Response:
        """The 413 page of a request body over :data:`~redline.serve.limits.MAX_BODY`."""
        text = "What was sent is too large for this form. Nothing was changed."
        return self.pages.message("Too much sent", text, 413)

    def limited(self, request: Request) -> Response | None:
        """A 429 page when the client address has used up its POSTs, else None."""
        client = request.client.host if request.client else "unknown"
        if self.limit.allow(client):
            return None
        text = "Too many requests from your address. Wait a minute and try again."
        response = self.pages.message("Please wait", text, 429)
        response.headers["retry-after"] = str(RETRY_AFTER)
        return response

    async def healthz(self, request: Request) -> Response:
        """200 "ok" when the database answers, else 503."""
        try:
            await run_in_threadpool(self.store.schema_version)
        except StorageError as error:
            LOG.warning("health check: %s", error.message)
            return PlainTextResponse("unavailable", 503)
        return PlainTextResponse("ok")

    async def stylesheet(self, request: Request) -> Response:
        """The pages' one stylesheet."""
        return self.pages.stylesheet()

    async def one_click(self, request: Request, token: str) -> Response:
        """RFC 8058: unsubscribe now; 200 also when already done or the subscriber is gone."""
        try:
            await run_in_threadpool(self.service.unsubscribe, token, "one-click")
        except InputError as error:
            return self.limited(request) or self.refuse(error)
        return PlainTextResponse("unsubscribed")

    def confirmation(self, signup: Any, base: str) -> Confirmation:
        """The confirmation email of ``signup``, linking to ``base``/confirm."""
        link = f"{base.rstrip('/')}/confirm?token={self.signer.confirm_token(signup)}"
        return Confirmation(signup.email, link, self.service.names(signup.policies))

    def send_confirmation(self, item: Confirmation) -> None:
        """Mail ``item`` and record it (after the response, so every answer takes as long),
        unless its address had its share of confirmations (sign-up is no way to flood one)."""
        if not self.mailed.allow(email_key(item.email)):
            count, window = CONFIRMATIONS_PER_ADDRESS
            LOG.warning(
                "a confirmation email was not sent: its address had %d in %d minutes",
                count,
                window // 60,
            )
            return
        if not self.mailer.send(item):
            return
        try:
            self.store.record_confirmation_sent(item.email)
        except StorageError as error:
            LOG.warning("a confirmation email sent was not recorded: %s", error.message)

    def background(self, signup: Any, request: Request) -> BackgroundTask:
        """The task that mails the confirmation of ``signup``."""
        base = self.settings.serve_url or _listening_url(request)
        return BackgroundTask(self.send_confirmation, self.confirmation(signup, base))


def _listening_url(request: Request) -> str:
    """The app's URL from the address it listens on, never from the Host header (which the
    client chooses: a sign-up would mail a link to any site). Config ``serve_url`` is the
    public URL; this is the fallback for a server reached directly."""
    host, port = request.scope.get("server") or ("127.0.0.1", 8080)
    host = f"[{host}]" if ":" in str(host) else host
    return f"{request.url.scheme}://{host}:{port}{request.scope.get('root_path', '')}"


def _guarded(app: App, handler: Handler) -> Handler:
    """``handler`` with a refused token or form (RedlineError) answered by a 400 page, and a
    database failure by a 503 page."""

    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except StorageError as error:
            return app.unavailable(error)
        except RedlineError as error:
            return app.refuse(error)

    return guarded


def build_app(settings: Settings) -> Starlette:
    """The ASGI app over ``settings``' database and templates, with security headers."""
    app = App(settings)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            app.close()

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        title, text = STATUS_PAGES.get(status, ("This request cannot be answered", ""))
        return app.pages.message(title, text or "Nothing was changed.", status)

    async def failed(request: Request, exc: Exception) -> Response:
        LOG.error("request failed: %s", type(exc).__name__)
        text = "Something went wrong on our side. Nothing was changed; try again later."
        return app.pages.message("Something went wrong", text, 500)

    forms = app.forms
    routes = [
        Route("/healthz", app.healthz, methods=["GET"]),
        Route("/style.css", app.stylesheet, methods=["GET"]),
        Route("/unsubscribe", _guarded(app, forms.unsubscribe), methods=["GET", "POST"]),
        Route("/subscribe", _guarded(app, forms.subscribe), methods=["GET", "POST"]),
        Route("/confirm", _guarded(app, forms.confirm), methods=["GET", "POST"]),
        Route("/preferences", _guarded(app, forms.preferences), methods=["GET", "POST"]),
    ]
    starlette = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: failed},
    )
    return SecurityHeaders(BodyLimit(starlette, MAX_BODY, app.too_large))  # type: ignore[return-value]


def app_from_environment() -> Starlette:
    """The app for uvicorn's workers (``--factory``): the repository and config file that
    ``redline serve`` put in :data:`ENV_ROOT` and :data:`ENV_CONFIG`."""
    from redline.config import load_settings
    from redline.env import Environment

    env = Environment.from_os()
    root = Path(env.get(ENV_ROOT) or ".")
    config = env.get(ENV_CONFIG)
    settings = load_settings(root, Path(config) if config else None, {}, env=env)
    return build_app(settings)
