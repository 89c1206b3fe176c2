"""Server-rendered pages of the foundation: home, sign-in, account (tokens, TOTP), inbox, API docs."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import select

from core import identity, keys, notifications, second_factor
from core.db import db
from core.errors import DomainError
from core.events import commit
from core.extensions import api
from core.models import User
from core.nav import nav_links
from core.pages import beijing_time
from core.permissions import permission

bp = Blueprint("core_pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/core")
bp.add_app_template_filter(beijing_time, "bj")


@bp.app_context_processor
def _layout_context():
    user = g.get("user")
    return {"current": user, "unread": notifications.unread_count(user) if user else 0,
            "env": current_app.config["GGZY_ENV"], "base_url": current_app.config["GGZY_BASE_URL"], "locale": str(get_locale()), "nav_links": nav_links(user)}


@bp.get("/")
@permission("pages.home")
def home():
    return render_template("core/home.html")


@bp.route("/login", methods=["GET", "POST"])
@permission("pages.home")
def login():
    if request.method == "GET":
        return render_template("core/login.html", next=request.args.get("next", ""))
    form = request.form
    try:
        user = identity.authenticate(email=form.get("email", ""), password=form.get("password", ""),
                                     ip=request.remote_addr or "", totp_code=form.get("totp") or None)
    except DomainError as err:
        commit()  # keep the failed-attempt row for the rate limit
        return render_template("core/login.html", error=page_message(err), next=form.get("next", "")), err.status
    login_user(user)
    commit()
    if user.needs_totp and not user.totp_confirmed:
        flash(_("Your role requires a second factor. Enrol an authenticator app now."))
        return redirect(url_for("core_pages.account"))
    target = form.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for(".home"))


@bp.post("/logout")
@permission("pages.home")
def logout():
    """Sign out everywhere: every session of the user ends, not only this browser's cookie.  API
    tokens stay (the bidder tool's, made on purpose; revoked on the account page, or all at once by a
    password change)."""
    if g.user is not None and not g.via_token:
        identity.end_sessions(g.user)
        commit()
    logout_user()
    return redirect(url_for(".home"))


@bp.get("/lang/<code>")
@permission("pages.home")
def set_language(code):
    response = make_response(redirect(request.referrer or url_for(".home")))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax")
    return response


@bp.get("/account")
@permission("pages.account")
def account():
    user = g.user
    tokens = [t for t in user_tokens(user)]
    owner = {"organisation_id": user.organisation_id} if user.organisation_id else {"user_id": user.id}
    return render_template("core/account.html", tokens=tokens, keys=keys_of(**owner))


def user_tokens(user: User):
    from core.models import ApiToken

    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()


def keys_of(**owner):
    column = keys.PublicKey.organisation_id if "organisation_id" in owner else keys.PublicKey.user_id
    return db.session.scalars(select(keys.PublicKey).where(column == next(iter(owner.values())))).all()


@bp.post("/account/tokens")
@permission("pages.account")
def create_token():
    _row, clear = identity.issue_token(user=g.user, name=request.form.get("name") or "web")
    commit()
    flash(_("New token (shown once): %(token)s", token=clear))
    return redirect(url_for(".account"))


#: page wording of sign-in, reset and second-factor refusals (the services' details are English)
PAGE_MESSAGES = {
    "bad_credentials": lambda err: _("e-mail or password is wrong"),
    "totp_required": lambda err: _("A valid one-time code is required."),
    "login_rate_limited": lambda err: _("Too many failed sign-ins; try again in %(seconds)s seconds.",
                                        seconds=err.extra.get("retry_after", "")),
    "reset_invalid": lambda err: _("The reset link is not valid or was already used."),
    "reset_expired": lambda err: _("The reset link has expired."),
    "weak_password": lambda err: _("A password needs at least 10 characters."),
    "totp_current_required": lambda err: _("Enter a valid code of the authenticator enrolled now."),
    "totp_invalid": lambda err: _("The one-time code is not valid."),
    "totp_required_for_role": lambda err: _("Your role requires a second factor; re-enrol instead."),
}


def page_message(err: DomainError) -> str:
    """A refusal in the page's language where one is written, else the service's detail."""
    wording = PAGE_MESSAGES.get(err.code)
    return wording(err) if wording else err.detail


@bp.post("/account/totp")
@permission("pages.account")
def totp():
    """Confirm a pending enrolment (``code``), or start one: a user already enrolled gives a code of
    the current authenticator (``current_code``), so a session alone cannot replace the factor."""
    user = g.user
    try:
        if request.form.get("code"):
            second_factor.confirm_totp(user, request.form["code"])
            flash(_("Second factor enrolled."))
            commit()
            return redirect(url_for(".account"))
        uri = second_factor.start_totp(user, current_code=request.form.get("current_code") or None)
    except DomainError as err:
        commit()  # a spent code stays spent
        flash(page_message(err))
        return redirect(url_for(".account"))
    commit()
    return render_template("core/totp.html", uri=uri, secret=user.totp_pending_secret)


@bp.get("/inbox")
@permission("pages.account")
def inbox():
    return render_template("core/inbox.html", notes=notifications.inbox(g.user, limit=200))


@bp.route("/password-reset", methods=["GET", "POST"])
@permission("pages.home")
def password_reset_request():
    if request.method == "POST":
        user = db.session.scalar(select(User).where(User.email == request.form.get("email", "").strip().lower()))
        if user is not None:  # the link is mailed on GGZY_BASE_URL, never on this request's Host
            identity.request_password_reset(user)
            commit()
        flash(_("If the address is registered, a reset link is on its way."))
        return redirect(url_for(".login"))
    return render_template("core/reset_request.html")


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@permission("pages.home")
def password_reset(token):
    if request.method == "POST":
        try:
            identity.reset_password(token=token, password=request.form.get("password", ""))
        except DomainError as err:
            return render_template("core/reset.html", error=page_message(err)), err.status
        commit()
        flash(_("Password changed. Sign in with the new one."))
        return redirect(url_for(".login"))
    return render_template("core/reset.html")


@bp.get("/api/docs")
@permission("pages.home")
def api_docs():
    """A browsable, offline page over /api/openapi.json (no CDN needed)."""
    return render_template("core/api_docs.html", spec=api.spec.to_dict())
