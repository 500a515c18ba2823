"""The supervisor's dashboard: server-rendered pages mounted into servidor.py's app.

    GET  /            overview: counts, dispatcher, alerts, charts (filters: campaign, dates)
    GET  /leads       search;  GET /leads/{id}: a lead's timeline and actions
    POST /leads/{id}/action       call_now | reschedule | cancel | close | review_take |
                                  review_release | dnc      (supervisors; audited)
    GET  /review      the review queue, oldest first;  POST /review/{id}/decide
    GET  /settings    every key, effective windows;  POST /settings/set|pause|resume
    GET|POST /login,  POST /logout

Access (panel_auth.py): a signed session cookie; every POST carries the session's CSRF
token (403 and nothing written without it); viewers read, supervisors act. Without
PANEL_SECRET_KEY the pages answer 503 (the webhooks keep working). Every action goes
through a library function and is audited afterwards (audit.py). Times are shown in the
business zone; full phone numbers and secrets never reach a page.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

import audit
import mantenimiento
import operations
import panel_auth
import panel_charts
import panel_data
import panel_settings
from call_manager_scheduler_integration import (
    CLOSURE_APPOINTMENT,
    CLOSURE_INVALID_PHONE,
    CLOSURE_NOT_INTERESTED,
    close_lead_with_reason,
)
from clock import utc_now
from do_not_call import record_do_not_call
from manual_review import release_from_review, take_under_review
from panel_i18n import labels, pick_lang
from phone import InvalidPhoneError, mask_digits
from reprogramar_llamadas_simple import (
    LeadNotCallableError,
    LeadNotFoundError,
    cancel_scheduled_calls_for_lead,
    schedule_call,
)

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "panel_login_csrf"
LANG_COOKIE = "panel_lang"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
LEAD_ACTIONS = ("call_now", "reschedule", "cancel", "close", "review_take", "review_release",
                "dnc")  # fmt: skip
REVIEW_DECISIONS = {
    "call_again": None,
    "not_interested": CLOSURE_NOT_INTERESTED,
    "appointment": CLOSURE_APPOINTMENT,
    "wrong_number": CLOSURE_INVALID_PHONE,
}


class PanelRefusal(Exception):
    """A request the dashboard refuses: status code and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def mount(app: Any) -> None:
    """Add the dashboard's routes and static files to `app` (servidor.py's)."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")


# --- request context -------------------------------------------------------------------------


def _settings(request: Request) -> panel_auth.PanelSettings:
    cached = getattr(request.app.state, "panel_settings", None)
    if cached is None:
        try:
            cached = panel_auth.PanelSettings.from_env()
        except panel_auth.PanelConfigurationError as exc:
            raise PanelRefusal(503, f"the dashboard is not configured: {exc}") from None
        request.app.state.panel_settings = cached
    return cached


def _session(request: Request) -> tuple[dict, panel_auth.User | None]:
    settings = _settings(request)
    session = panel_auth.read_session(settings, request.cookies.get(panel_auth.COOKIE_NAME))
    user = panel_auth.current_user(session["u"]) if session else None
    return session, user


def _lang(request: Request) -> str:
    return pick_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def _page(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    lang = _lang(request)
    response = templates.TemplateResponse(
        request, name, {"t": labels(lang), "lang": lang, **context}, status_code=status
    )
    response.headers.update(SECURITY_HEADERS)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict",
                            httponly=True)  # fmt: skip
    return response


def _error_page(request: Request, status: int, message: str, user=None, session=None):
    return _page(request, "error.html", {"message": message, "user": user,
                 "csrf": (session or {}).get("c")}, status)  # fmt: skip


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _viewer(request: Request):
    """(session, user) of a logged-in user, or a response to return instead."""
    try:
        session, user = _session(request)
    except PanelRefusal as exc:
        return None, None, _error_page(request, exc.status, str(exc))
    if user is None:
        return None, None, _login_redirect(request)
    return session, user, None


def _actor(request: Request, csrf_token: str | None):
    """(session, user) of a supervisor whose form carried the session's CSRF token, or a
    refusal response (nothing is written after a refusal)."""
    session, user, early = _viewer(request)
    if early is not None:
        return None, None, early
    if not panel_auth.csrf_ok(session, csrf_token):
        logger.warning("refused %s: CSRF token missing or wrong", request.url.path)
        return None, None, _error_page(request, 403, "CSRF token missing or wrong; nothing "
                                       "was written. Reload the page and try again.")  # fmt: skip
    if not user.can_act:
        msg = labels(_lang(request))["forbidden"]
        return None, None, _error_page(request, 403, msg, user, session)
    return session, user, None


def _base(session: dict, user: panel_auth.User, **context: Any) -> dict:
    return {"user": user, "csrf": session.get("c"), **context}


# --- login -----------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    """The login form; a fresh login CSRF token in a short cookie (double submit)."""
    token = secrets.token_urlsafe(24)
    try:
        settings = _settings(request)
    except PanelRefusal as exc:
        return _error_page(request, exc.status, str(exc))
    response = _page(request, "login.html", {"login_csrf": token, "next": _safe_next(next),
                                             "failed": False, "user": None})  # fmt: skip
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=1800, httponly=True,
                        samesite="strict", secure=settings.cookie_secure)  # fmt: skip
    return response


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    """Check the password; on success a new session (new CSRF token) and a redirect."""
    try:
        settings = _settings(request)
    except PanelRefusal as exc:
        return _error_page(request, exc.status, str(exc))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token or ""):
        return _error_page(request, 403, "CSRF token missing or wrong; reload the login page.")
    user = panel_auth.authenticate(username[:64], password[:1024])
    if user is None:
        logger.warning("dashboard login refused for %r", username[:64])
        token = secrets.token_urlsafe(24)
        response = _page(request, "login.html", {"login_csrf": token, "next": _safe_next(next),
                                                 "failed": True, "user": None}, 401)  # fmt: skip
        response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=1800, httponly=True,
                            samesite="strict", secure=settings.cookie_secure)  # fmt: skip
        return response
    logger.info("dashboard login: %s (%s)", user.username, user.role)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(panel_auth.COOKIE_NAME, panel_auth.make_session(settings, user.username),
                        max_age=settings.session_seconds, httponly=True, samesite="strict",
                        secure=settings.cookie_secure)  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("")) -> Response:
    """End the session (CSRF-checked, any role)."""
    session, _user, early = _viewer(request)
    if early is not None:
        return early
    if not panel_auth.csrf_ok(session, csrf_token):
        return _error_page(request, 403, "CSRF token missing or wrong; nothing was done.")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(panel_auth.COOKIE_NAME)
    return response


# --- overview --------------------------------------------------------------------------------


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise PanelRefusal(400, f"dates are YYYY-MM-DD, got {text[:20]!r}") from None


@router.get("/")
def overview_page(request: Request, campaign: str = "", first: str = "", last: str = ""):
    """The overview with its charts."""
    session, user, early = _viewer(request)
    if early is not None:
        return early
    try:
        filters = panel_data.Filters(campaign[:255] or None, _date(first), _date(last))
    except PanelRefusal as exc:
        return _error_page(request, exc.status, str(exc), user, session)
    data = panel_data.overview(filters, utc_now())
    t = labels(_lang(request))
    charts = {
        "hourly": panel_charts.stacked_bars(*data.hourly, t["calls_per_hour"]),
        "daily": panel_charts.stacked_bars(*data.daily, t["calls_per_day"]),
        "funnel": panel_charts.bars([t[k] for k, _ in data.funnel],
                                    [v for _, v in data.funnel], t["funnel"]),
        "attempts": panel_charts.bars([k for k, _ in data.attempts],
                                      [v for _, v in data.attempts], t["attempts"]),
        "queue": panel_charts.bars(*data.queue[:2], t["queue_48h"], shaded=data.queue[2]),
    }  # fmt: skip
    last_run = data.alerts.get("last_run")
    return _page(request, "overview.html", _base(
        session, user, data=data, charts=charts, filters=filters,
        last_run=panel_data.local(datetime.fromisoformat(last_run), data.zone) if last_run
        else None))  # fmt: skip


# --- leads -----------------------------------------------------------------------------------


@router.get("/leads")
def leads_page(request: Request, name: str = "", phone: str = "", status: str = "",
               campaign: str = ""):  # fmt: skip
    """Search leads; numbers masked."""
    session, user, early = _viewer(request)
    if early is not None:
        return early
    searched = any((name, phone, status, campaign))
    rows = panel_data.search_leads(name, phone, status, campaign) if searched else []
    return _page(request, "leads.html", _base(session, user, rows=rows, searched=searched,
                 q={"name": name, "phone": phone, "status": status, "campaign": campaign},
                 zone=panel_data.business_zone(), local=panel_data.local))  # fmt: skip


def _lead_context(session, user, lead_id: int, **extra: Any) -> dict | None:
    page = panel_data.lead_page(lead_id)
    if page is None:
        return None
    return _base(session, user, **page, audit_rows=audit.for_lead(lead_id),
                 zone=panel_data.business_zone(), local=panel_data.local, **extra)  # fmt: skip


@router.get("/leads/{lead_id}")
def lead_page(request: Request, lead_id: int, done: str = ""):
    """One lead: details, timeline, audit, actions."""
    session, user, early = _viewer(request)
    if early is not None:
        return early
    context = _lead_context(session, user, lead_id, done=done if done in LEAD_ACTIONS else "")
    if context is None:
        return _error_page(request, 404, f"lead {lead_id} does not exist", user, session)
    return _page(request, "lead.html", context)


def _parse_when(text: str, now: datetime) -> datetime:
    zone = panel_data.business_zone()
    try:
        moment = datetime.fromisoformat(text).replace(tzinfo=zone)
    except ValueError:
        raise PanelRefusal(400, "give the time as YYYY-MM-DDTHH:MM (business local)") from None
    if moment < now:
        raise PanelRefusal(400, "that time is in the past; nothing was written")
    return moment


def _reason(text: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise PanelRefusal(400, "a reason is required; nothing was written")
    if len(text) > 200:
        raise PanelRefusal(400, "the reason is longer than 200 characters; nothing was written")
    return text


def _do_lead_action(user: panel_auth.User, lead_id: int, action: str, reason: str,
                    when: str) -> str:  # fmt: skip
    """Run one action through the library and return the audit detail."""
    now = utc_now()  # a fresh clock at the moment of acting
    if action == "call_now":
        moment = schedule_call(lead_id)
        return f"call scheduled at {moment:%Y-%m-%dT%H:%M}Z"
    if action == "reschedule":
        moment = schedule_call(lead_id, _parse_when(when, now))
        return f"call rescheduled to {moment:%Y-%m-%dT%H:%M}Z"
    if action == "cancel":
        why = _reason(reason)
        count = cancel_scheduled_calls_for_lead(lead_id, f"dashboard ({user.username}): {why}")
        return f"{count} pending call(s) cancelled: {mask_digits(why)}"
    if action == "close":
        why = _reason(reason)
        closed = close_lead_with_reason(lead_id, why)
        return f"{'closed' if closed else 'was already closed'}: {mask_digits(why)}"
    if action == "review_take":
        why = _reason(reason)
        count = take_under_review(lead_id, why)
        return f"under manual review ({count} call(s) cancelled): {mask_digits(why)}"
    if action == "review_release":
        moment = release_from_review(lead_id)
        return "released; " + (f"next call at {moment:%Y-%m-%dT%H:%M}Z" if moment
                               else "a call is in flight")  # fmt: skip
    if action == "dnc":
        number = panel_data.lead_phone(lead_id)  # the full number stays on the server
        added = record_do_not_call(number or "", f"dashboard:{user.username}", _reason(reason))
        return f"number {'added to' if added else 'already on'} the do-not-call list"
    raise PanelRefusal(400, f"unknown action {action[:30]!r}; nothing was written")


@router.post("/leads/{lead_id}/action")
def lead_action(request: Request, lead_id: int, action: str = Form(""),
                reason: str = Form(""), when: str = Form(""),
                csrf_token: str = Form("")) -> Response:  # fmt: skip
    """A supervisor's action on a lead (CSRF-checked, audited)."""
    session, user, early = _actor(request, csrf_token)
    if early is not None:
        return early
    try:
        detail = _do_lead_action(user, lead_id, action, reason, when)
    except PanelRefusal as exc:
        return _refused(request, session, user, lead_id, exc.status, str(exc))
    except LeadNotFoundError as exc:
        return _error_page(request, 404, str(exc), user, session)
    except (LeadNotCallableError, InvalidPhoneError, ValueError) as exc:
        return _refused(request, session, user, lead_id, 409, str(exc))
    audit.record(user.username, action, lead_id, detail)
    return RedirectResponse(f"/leads/{lead_id}?done={action}", status_code=303)


def _refused(request, session, user, lead_id: int, status: int, message: str) -> Response:
    context = _lead_context(session, user, lead_id, error=message)
    if context is None:
        return _error_page(request, 404, f"lead {lead_id} does not exist", user, session)
    return _page(request, "lead.html", context, status)


# --- review queue ----------------------------------------------------------------------------


@router.get("/review")
def review_page(request: Request, done: str = ""):
    """The review queue, oldest first."""
    session, user, early = _viewer(request)
    if early is not None:
        return early
    return _page(request, "review.html", _base(
        session, user, rows=panel_data.review_queue(), zone=panel_data.business_zone(),
        local=panel_data.local, done=done if done in REVIEW_DECISIONS else ""))  # fmt: skip


@router.post("/review/{lead_id}/decide")
def review_decide(request: Request, lead_id: int, decision: str = Form(""),
                  csrf_token: str = Form("")) -> Response:  # fmt: skip
    """One-click decision on a lead of the queue (CSRF-checked, audited)."""
    session, user, early = _actor(request, csrf_token)
    if early is not None:
        return early
    if decision not in REVIEW_DECISIONS:
        return _error_page(request, 400, "unknown decision; nothing was written", user, session)
    try:
        if decision == "call_again":
            moment = release_from_review(lead_id)
            detail = f"released; next call at {moment:%Y-%m-%dT%H:%M}Z" if moment else "released"
        else:
            reason = REVIEW_DECISIONS[decision]
            closed = close_lead_with_reason(lead_id, reason)
            detail = f"{'closed' if closed else 'was already closed'}: {reason}"
    except LeadNotFoundError as exc:
        return _error_page(request, 404, str(exc), user, session)
    except (LeadNotCallableError, ValueError) as exc:
        return _error_page(request, 409, str(exc), user, session)
    audit.record(user.username, f"review_{decision}", lead_id, detail)
    return RedirectResponse(f"/review?done={decision}", status_code=303)


# --- settings --------------------------------------------------------------------------------


def _settings_page(request, session, user, status: int = 200, **extra: Any) -> Response:
    data = panel_settings.settings_rows()
    return _page(request, "settings.html", _base(
        session, user, data=data, grid=panel_settings.grid(data["windows"]),
        recent=audit.recent(utc_now().replace(year=utc_now().year - 1)),
        local=panel_data.local, **extra), status)  # fmt: skip


@router.get("/settings")
def settings_page(request: Request, done: str = ""):
    """Every key with its effective value; the weekly windows; pause/resume."""
    session, user, early = _viewer(request)
    if early is not None:
        return early
    return _settings_page(request, session, user, done=done[:64])


@router.post("/settings/set")
def settings_set(request: Request, key: str = Form(""), value: str = Form(""),
                 csrf_token: str = Form("")) -> Response:  # fmt: skip
    """Set one key with mantenimiento.set_config (the same validation as set-config)."""
    session, user, early = _actor(request, csrf_token)
    if early is not None:
        return early
    try:
        result = mantenimiento.set_config(key, value)
    except ValueError as exc:
        return _settings_page(request, session, user, 400, error=str(exc))
    shown = "(hidden)" if "token" in key or "secret" in key else result["value"][:200]
    audit.record(user.username, "set_config", None, f"{result['key']}={shown}")
    return RedirectResponse(f"/settings?done={quote(result['key'])}", status_code=303)


@router.post("/settings/pause")
def settings_pause(request: Request, reason: str = Form(""),
                   csrf_token: str = Form("")) -> Response:  # fmt: skip
    """Pause dispatch (operations.pause_dispatch), audited."""
    session, user, early = _actor(request, csrf_token)
    if early is not None:
        return early
    try:
        why = _reason(reason)
    except PanelRefusal as exc:
        return _settings_page(request, session, user, exc.status, error=str(exc))
    text = operations.pause_dispatch(mask_digits(why), who=f"{user.username} (dashboard)")
    audit.record(user.username, "pause", None, text)
    return RedirectResponse("/settings?done=pause", status_code=303)


@router.post("/settings/resume")
def settings_resume(request: Request, csrf_token: str = Form("")) -> Response:
    """Resume dispatch (operations.resume_dispatch), audited."""
    _, user, early = _actor(request, csrf_token)
    if early is not None:
        return early
    before = operations.resume_dispatch(who=f"{user.username} (dashboard)")
    audit.record(user.username, "resume", None, f"was paused: {before['was_paused']}")
    return RedirectResponse("/settings?done=resume", status_code=303)
