"""The studio's pages and its sign-in, sign-out and one-time-link routes.

A page is served only to a browser with a live studio session; any other gets the sign-in
page, which says why when a session ended (its key was revoked, access was suspended). The
pages carry no data of their own beyond what the registry says (models, styles, presets):
their scripts read the account's tasks, videos and settings from the API routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from cinegen.api.auth_failures import AuthFailures
from cinegen.api.deps import (
    SESSION_COOKIE,
    SessionDep,
    SettingsDep,
    check_csrf,
    client_address,
    refuse_while_suspended,
    studio_key,
)
from cinegen.api.errors import ApiError
from cinegen.config import Quota
from cinegen.store import studio_sessions
from cinegen.store.keys import live_key
from cinegen.store.models import ApiKey, Role, StudioSession
from cinegen.web import menus

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

router = APIRouter(include_in_schema=False)

# What a studio page may load and do: only this server's own files (no inline script or
# style anywhere), previews as data: URLs, no framing by another site (clickjacking).
POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class Signed:
    """Who a page is for: the key (and so the account) and the studio session (its CSRF
    token goes into the page)."""

    key: ApiKey
    studio: StudioSession

    @property
    def role(self) -> Role:
        return self.key.account.role


class SignInNeeded(Exception):
    def __init__(self, next_path: str, ended: ApiError | None = None) -> None:
        self.next_path = next_path
        self.ended = ended


def signed_in(request: Request, session: SessionDep) -> Signed:
    """The page's viewer, by the studio session cookie, or SignInNeeded (answered with the
    sign-in page)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInNeeded(request.url.path)
    try:
        key = studio_key(request, session, token)
    except ApiError as exc:
        raise SignInNeeded(request.url.path, exc) from None
    return Signed(key, request.state.studio_session)


SignedIn = Annotated[Signed, Depends(signed_in)]


def page(request: Request, name: str, viewer: Signed | None, **context: Any) -> HTMLResponse:
    """A template with what every page shows: who is signed in, their role's links, the
    CSRF token the scripts repeat."""
    return templates.TemplateResponse(
        request,
        name,
        {
            "viewer": viewer,
            "account": viewer.key.account if viewer else None,
            "csrf": viewer.studio.csrf if viewer else "",
            "nav": menus.navigation(viewer.role if viewer else None),
            **context,
        },
        headers={"Cache-Control": "no-store", "Content-Security-Policy": POLICY},
    )


# The refusals that end a session; any other (access suspended, too many failed sign-ins)
# only holds it: the cookie is kept, and a reload once it passes goes on where it was.
ENDING = frozenset({"session_ended", "invalid_api_key"})


def answer_sign_in_needed(request: Request, exc: Exception) -> Response:
    """The sign-in page, saying why (200: the page is what was asked for; an error status
    would be an error in the browser's console on a plain page load)."""
    assert isinstance(exc, SignInNeeded)
    ends = exc.ended is not None and exc.ended.code in ENDING
    response = page(
        request,
        "sign_in.html",
        None,
        next_path=exc.next_path,
        ended=exc.ended.message if exc.ended and ends else None,
        held=exc.ended.message if exc.ended and not ends else None,
    )
    if ends:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- the pages -------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def create_page(request: Request, viewer: SignedIn, settings: SettingsDep) -> HTMLResponse:
    return page(request, "create.html", viewer, form=menus.create_form(settings))


@router.get("/library", response_class=HTMLResponse)
def library_page(request: Request, viewer: SignedIn) -> HTMLResponse:
    return page(request, "library.html", viewer)


@router.get("/library/{generation_id}", response_class=HTMLResponse)
def detail_page(
    generation_id: str, request: Request, viewer: SignedIn, settings: SettingsDep
) -> HTMLResponse:
    return page(
        request,
        "detail.html",
        viewer,
        generation_id=generation_id,
        form=menus.create_form(settings),
    )


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, viewer: SignedIn) -> HTMLResponse:
    """The review queue; for other roles (403), a page that says which key it needs."""
    allowed = menus.may_open("/review", viewer.role)
    refused = None if allowed else "reviewing needs a reviewer or admin key"
    response = page(request, "review.html", viewer, refused=refused)
    response.status_code = 200 if allowed else 403
    return response


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, viewer: SignedIn) -> HTMLResponse:
    """Keys, quotas, the access switch and the audit log; for other roles (403), a page
    that says which key it needs. The quota inputs follow ``config.Quota``'s fields."""
    allowed = menus.may_open("/admin", viewer.role)
    refused = None if allowed else "the admin page needs an admin key"
    quota_fields = Quota.model_json_schema()["properties"]
    roles = [role.value for role in Role]
    context = {"refused": refused, "quota_fields": quota_fields, "roles": roles}
    response = page(request, "admin.html", viewer, **context)
    response.status_code = 200 if allowed else 403
    return response


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, viewer: SignedIn) -> HTMLResponse:
    return page(request, "verify.html", viewer)


# --- signing in and out ----------------------------------------------------------------------
def refuse_cross_site(request: Request) -> None:
    """The sign-in and sign-out forms are answered only when sent from this site's own
    pages (or typed): browsers say where a request comes from in ``Sec-Fetch-Site``, so a
    page of another site cannot sign a visitor in to an account of its choosing."""
    if request.headers.get("sec-fetch-site", "none") not in ("same-origin", "none"):
        raise ApiError(403, "sign in from the studio's own page", code="cross_site")


def _local_path(next_path: str) -> str:
    """Where to go after signing in: a path on this server only (no open redirect)."""
    if not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return "/"
    return next_path


def _signed_in_response(
    request: Request, session: SessionDep, key: ApiKey, *, lifetime: timedelta, to: str
) -> RedirectResponse:
    if earlier := request.cookies.get(SESSION_COOKIE):  # signing in again ends the old one
        studio_sessions.end(session, earlier)
    started = studio_sessions.start(session, key, lifetime=lifetime)
    response = RedirectResponse(_local_path(to), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        started.token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = "/") -> HTMLResponse:
    return page(request, "sign_in.html", None, next_path=_local_path(next), ended=None)


@router.post("/sign-in", response_model=None)
def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    api_key: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    failures: AuthFailures = request.app.state.auth_failures
    client = client_address(request)
    secret = api_key.strip()
    try:
        refuse_cross_site(request)
        failures.check(client, secret)
        key = live_key(session, secret) if secret else None
        if key is None:
            failures.failed(client, secret)
            raise ApiError(401, "that API key is unknown or revoked", code="invalid_api_key")
        if key.account.role is not Role.admin:
            refuse_while_suspended(session)
    except ApiError as exc:
        context = {"next_path": _local_path(next), "ended": None, "error": exc.message}
        response = page(request, "sign_in.html", None, **context)
        response.status_code = exc.status
        return response
    lifetime = timedelta(hours=settings.studio_session_hours)
    return _signed_in_response(request, session, key, lifetime=lifetime, to=next)


@router.get("/sign-in/link/{token}", response_model=None)
def sign_in_by_link(
    token: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """A one-time link (``cinegen studio``): signs this browser in, once."""
    key = studio_sessions.redeem_link(session, token)
    if key is None or key.revoked_at is not None:
        message = "this sign-in link was used already or has expired: run `cinegen studio` again"
        response = page(request, "sign_in.html", None, next_path="/", ended=None, error=message)
        response.status_code = 401
        return response
    lifetime = timedelta(hours=settings.studio_session_hours)
    return _signed_in_response(request, session, key, lifetime=lifetime, to="/")


@router.post("/sign-out", response_model=None)
def sign_out(request: Request, session: SessionDep, csrf: Annotated[str, Form()] = "") -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        refuse_cross_site(request)
        studio = studio_sessions.find(session, token)
        if studio is not None:
            check_csrf(studio, csrf)  # the form carries it: a form of another site cannot
        studio_sessions.end(session, token)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
