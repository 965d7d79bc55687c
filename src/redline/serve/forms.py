"""The pages with forms: unsubscribe, subscribe, confirm and preferences.

A GET only shows a page (link scanners prefetch). Every form carries a CSRF token signed for
its purpose and bound to the page's token and to the ``redline_csrf`` cookie; a POST without
a matching one is refused (403) before anything changes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from redline.errors import InputError
from redline.serve.mailer import CLOSED_SECONDS
from redline.serve.pages import sentence
from redline.serve.tokens import new_nonce

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from redline.ledger.people import Subscriber
    from redline.serve.app import App

COOKIE = "redline_csrf"
ONE_CLICK = ("List-Unsubscribe", "One-Click")


class Forms:
    """The form pages of one :class:`~redline.serve.app.App`."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.pages = app.pages
        self.service = app.service

    # -- plumbing -----------------------------------------------------------------------------

    def _page(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any],
        subject: str = "",
        status: int = 200,
    ) -> Response:
        """Page ``name`` whose form is about ``subject``, with its CSRF token (and cookie)."""
        nonce = request.cookies.get(COOKIE) or new_nonce()
        csrf = self.app.signer.form_token(name, subject, nonce)
        response = self.pages.render(name, {**context, "csrf": csrf}, status)
        if request.cookies.get(COOKIE) != nonce:
            response.set_cookie(
                COOKIE,
                nonce,
                path=request.scope.get("root_path") or "/",
                secure=request.url.scheme == "https",
                httponly=True,
                samesite="lax",
            )
        return response

    async def _posted(
        self, request: Request, purpose: str, form: FormData, subject: str = ""
    ) -> Response | None:
        """A refusal of a form POST (429 over the rate limit, 403 for a bad CSRF token),
        or None to go on."""
        refused = self.app.limited(request)
        if refused is not None:
            return refused
        nonce = request.cookies.get(COOKIE, "")
        try:
            self.app.signer.check_form(purpose, str(form.get("csrf", "")), subject, nonce)
        except InputError as error:
            return self.app.refuse(error, 403)
        return None

    @staticmethod
    async def _form(request: Request) -> FormData:
        """The posted form; InputError when it was not UTF-8 (decoding left U+FFFD in it)."""
        form = await request.form()
        if any(isinstance(value, str) and "\ufffd" in value for _, value in form.multi_items()):
            raise InputError("the form was not sent as UTF-8 text", hint="send it again")
        return form

    @staticmethod
    def _token(request: Request, form: FormData | None = None) -> str:
        token = request.query_params.get("token") or (form and form.get("token")) or ""
        if not isinstance(token, str) or not token.strip():
            raise InputError("the link has no token", hint="open the link from the email")
        return token.strip()

    def _choices(self, policies: Collection[str] | None, locale: str | None) -> dict[str, Any]:
        """The form's policy checkboxes and locale options, with these chosen."""
        service = self.service
        ticked = {c.value for c in service.policies} if policies is None else set(policies)
        return {
            "policies": [
                {"value": c.value, "label": c.label, "group": c.group, "checked": c.value in ticked}
                for c in service.policies
            ],
            "locales": [
                {"value": c.value, "label": c.label, "selected": c.value == locale}
                for c in service.locales
            ],
        }

    def _gone(self) -> Response:
        text = "This address is not subscribed (any more). Nothing was changed."
        return self.pages.message("Not subscribed", text)

    # -- unsubscribe --------------------------------------------------------------------------

    async def unsubscribe(self, request: Request) -> Response:
        """GET: a page with the button; POST: one-click (RFC 8058) or the page's form."""
        if request.method == "GET":
            token = self._token(request)
            subscriber = await run_in_threadpool(self.service.subscriber, token)
            if subscriber is None or not subscriber.active:
                return self._gone()
            context = {"email": subscriber.email, "token": token}
            return self._page(request, "unsubscribe", context, token)
        form = await self._form(request)
        token = self._token(request, form)
        if form.get(ONE_CLICK[0]) == ONE_CLICK[1]:
            return await self.app.one_click(request, token)
        refused = await self._posted(request, "unsubscribe", form, token)
        if refused is not None:
            return refused
        await run_in_threadpool(self.service.unsubscribe, token, "page")
        return self.pages.message(
            "You are unsubscribed",
            "You will get no more notices of policy changes.",
            preferences=f"preferences?token={token}",
        )

    # -- subscribe and confirm ----------------------------------------------------------------

    def _subscribe_page(
        self, request: Request, form: FormData | None = None, error: str | None = None
    ) -> Response:
        policies = form.getlist("policy") if form is not None else None
        locale = str(form.get("locale", "")) if form is not None else None
        context = {
            **self._choices(policies, locale or self.service.locales[0].value),
            "email": str(form.get("email", "")) if form is not None else "",
            "error": error,
            "available": self.app.mailer.available,
        }
        return self._page(request, "subscribe", context, status=400 if error else 200)

    async def subscribe(self, request: Request) -> Response:
        """GET: the sign-up form; POST: mail a confirmation link, the same answer for all."""
        if request.method == "GET":
            return self._subscribe_page(request)
        form = await self._form(request)
        refused = await self._posted(request, "subscribe", form)
        if refused is not None:
            return refused
        if not self.app.mailer.available:
            text = "Sign-up by email is not available right now. Please try again in a few minutes."
            closed = self.pages.message("Sign-up is closed", text, 503)
            closed.headers["retry-after"] = str(int(CLOSED_SECONDS))
            return closed
        try:
            signup = self.service.choose(
                str(form.get("email", "")),
                [str(value) for value in form.getlist("policy")],
                str(form.get("locale", "")),
            )
        except InputError as error:
            return self._subscribe_page(request, form, sentence(error.message))
        response = self.pages.message(
            "Check your inbox",
            "If the address can receive mail, a message with a confirmation link is on its "
            "way. You are subscribed once you open the link and confirm.",
        )
        response.background = self.app.background(signup, request)
        return response

    async def confirm(self, request: Request) -> Response:
        """GET: what the link would subscribe to, and the button; POST: subscribe."""
        form = await self._form(request) if request.method == "POST" else None
        token = self._token(request, form)
        signup = self.app.signer.read_confirm(token, self.app.settings.confirm_hours * 3600)
        if form is None:
            names = self.service.names(signup.policies)
            context = {"email": signup.email, "policies": names, "token": token}
            return self._page(request, "confirm", context, token)
        refused = await self._posted(request, "confirm", form, token)
        if refused is not None:
            return refused
        subscriber = await run_in_threadpool(self.service.confirm, signup)
        return self.pages.message(
            "You are subscribed",
            "You will get an email when a policy you follow changes.",
            preferences=f"preferences?token={self.service.token_of(subscriber)}",
        )

    # -- preferences --------------------------------------------------------------------------

    def _preferences_page(
        self, request: Request, subscriber: Subscriber, token: str, **extra: Any
    ) -> Response:
        context = {
            **self._choices(
                subscriber.policies, subscriber.locale or self.service.locales[0].value
            ),
            "email": subscriber.email,
            "active": subscriber.active,
            "token": token,
            "saved": False,
            "error": None,
            **extra,
        }
        status = 400 if context["error"] else 200
        return self._page(request, "preferences", context, token, status)

    async def preferences(self, request: Request) -> Response:
        """GET: the subscriber's choices; POST: save them, or unsubscribe from everything."""
        form = await self._form(request) if request.method == "POST" else None
        token = self._token(request, form)
        if form is not None:
            refused = await self._posted(request, "preferences", form, token)
            if refused is not None:
                return refused
        subscriber = await run_in_threadpool(self.service.subscriber, token)
        if subscriber is None:
            return self._gone()
        if form is None:
            return self._preferences_page(request, subscriber, token)
        if form.get("action") == "unsubscribe":
            await run_in_threadpool(self.service.unsubscribe, token, "page")
            text = "You will get no more notices of policy changes."
            return self.pages.message(
                "You are unsubscribed", text, preferences=f"preferences?token={token}"
            )
        policies = [str(value) for value in form.getlist("policy")]
        try:
            saved = await run_in_threadpool(
                self.service.save, subscriber, policies, str(form.get("locale", ""))
            )
        except InputError as error:
            return self._preferences_page(request, subscriber, token, error=sentence(error.message))
        return self._preferences_page(request, saved, token, saved=True)
