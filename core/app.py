"""The application factory: config → logging → db → storage → auth → api → pages → tasks.

The only place that wires extensions and registers blueprints (STYLE habit 1).  Domain blueprints
are found by convention: ``<domain>.api.blp`` (flask-smorest, under /api) and ``<domain>.views.bp``.
"""
from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

from flask import Flask, current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from werkzeug.routing import IntegerConverter

from core.config import build_config
from core.db import db
from core.domains import PACKAGES
from core.extensions import api, babel, csrf, login_manager


def create_app(config: dict | None = None) -> Flask:
    """Build a configured app; ``config`` overrides the environment (tests)."""
    app = Flask("ggzy", root_path=str(Path(__file__).parent), instance_path=None)
    app.config.update(build_config(config))
    from core.observability import configure_logging, init_request_tracking

    configure_logging()
    db.init_app(app)
    _import_models()
    _init_storage(app)
    _init_auth(app)
    _init_i18n(app)
    _init_api(app)
    _init_pages(app)
    init_request_tracking(app)
    from core.errors import register_error_handlers

    register_error_handlers(app)
    from core.tasks import init_celery

    init_celery(app)
    app.teardown_request(_dispatch_leftovers)
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind ``GGZY_TRUSTED_PROXIES`` reverse proxies, the client's address and scheme are the ones
    those proxies forwarded (werkzeug's ProxyFix reads only as many hops as are trusted)."""
    hops = int(app.config["GGZY_TRUSTED_PROXIES"])
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _import_models() -> None:
    """Every table must be in the metadata before create_all or Alembic looks at it."""
    for module in ("core.models", "core.clock", "core.events", "core.keys", "core.leases", "core.scheduler",
                   "core.storage.catalog"):
        importlib.import_module(module)
    for domain in PACKAGES[1:]:
        _domain_module(domain, "models")


def _init_storage(app: Flask) -> None:
    from core.storage import storage_from_config

    app.extensions["storage"] = storage_from_config(app.config)


def _init_auth(app: Flask) -> None:
    """Bearer tokens for the API and tools, sessions (with CSRF) for pages and the browser's API calls."""

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "core_pages.login"

    @login_manager.user_loader
    def _load(session_id: str):
        from core.identity import session_user

        return session_user(session_id)  # an ended session (sign-out, new password) loads nobody

    @app.before_request
    def _identify():
        from core.identity import user_for_token

        g.user, g.via_token = None, False
        _refuse_deep_json()
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            g.user, g.via_token = user_for_token(header[7:].strip()), True
        elif current_user.is_authenticated:
            g.user = current_user._get_current_object()
            _second_factor_gate(g.user)
        if request.path.startswith("/api/") and request.method not in ("GET", "HEAD", "OPTIONS"):
            _api_csrf()
        _refuse_nul_characters()

    @app.after_request
    def _token_use(response):
        from core.identity import record_token_use

        record_token_use()
        return response


#: what a user who must enrol TOTP may still reach by session before doing so
ENROLMENT_ENDPOINTS = {"core_pages.account", "core_pages.totp", "core_pages.logout", "core_pages.home",
                       "core_pages.set_language", "core_pages.login", "core_pages.static"}


def _second_factor_gate(user) -> None:
    """Supervisors, admins and custodians act only after enrolling a second factor (DESIGN §3)."""
    from core.second_factor import require_enrolled_second_factor

    if request.endpoint in ENROLMENT_ENDPOINTS or (request.endpoint or "").endswith("static"):
        return
    require_enrolled_second_factor(user)


#: a JSON string (escapes included) or one bracket; strings are skipped, so brackets inside them do not count
_JSON_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _refuse_deep_json() -> None:
    """A JSON body nested deeper than ``GGZY_JSON_MAX_DEPTH`` is refused with 400 before any parser
    sees it (Python's json recurses: ``[`` × 1000 raised RecursionError, a 500 per request)."""
    from core.errors import DomainError

    if not request.is_json or not request.content_length:
        return
    limit = int(current_app.config["GGZY_JSON_MAX_DEPTH"])
    body = request.get_data(cache=True)
    if body.count(b"[") + body.count(b"{") <= limit:
        return
    depth = 0
    for match in _JSON_TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise DomainError(f"JSON nested deeper than {limit} levels", code="json_too_deep", status=400,
                                  max_depth=limit)
        elif token in (b"]", b"}"):
            depth -= 1


def _refuse_nul_characters() -> None:
    """Text never contains U+0000: PostgreSQL cannot store it, and no legitimate name, address or
    reason does.  Refused here once (422 naming the problem) instead of failing in every INSERT."""
    from core.errors import ValidationFailed

    found = False
    if request.is_json and request.content_length and request.content_length <= 64 * 1024 * 1024:
        body = request.get_data(cache=True)
        found = b"\\u0000" in body or b"\x00" in body
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        found = any("\x00" in value for value in request.form.values())
    found = found or "\x00" in request.query_string.decode("latin-1") or "%00" in request.query_string.decode("latin-1")
    if found:
        raise ValidationFailed("text may not contain the NUL character (U+0000)", code="nul_character")


def _api_csrf() -> None:
    """API writes from a browser session need the CSRF header; token clients are not exposed to CSRF."""
    from core.errors import Forbidden

    if g.via_token or g.user is None:
        return
    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except Exception:
        raise Forbidden("missing or invalid X-CSRFToken header", code="csrf_failed") from None


def _init_i18n(app: Flask) -> None:
    def select_locale():
        wanted = request.args.get("lang") or request.cookies.get("lang")
        if wanted in app.config["LANGUAGES"]:
            return wanted
        if g.get("user") is not None:
            return g.user.locale
        return request.accept_languages.best_match(app.config["LANGUAGES"]) or app.config["BABEL_DEFAULT_LOCALE"]

    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s), ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n), newstyle=True)


def _translations():
    """Flask-Babel's catalogue for the current locale, looked up once per locale and context instead
    of on every ``_()`` of a template (a page of the portal calls it some sixty times, and each
    lookup walks the locale selector's context).  Keyed by the locale object Flask-Babel keeps in
    its context namespace (``g._flask_babel``), so ``force_locale`` still switches catalogues."""
    from flask_babel import get_locale, get_translations

    ctx = g.get("_flask_babel")
    locale = getattr(ctx, "babel_locale", None) or get_locale()
    if locale is None or ctx is None:
        return get_translations()
    cached = getattr(ctx, "ggzy_translations", None)
    if cached is None or cached[0] is not locale:
        cached = ctx.ggzy_translations = (locale, get_translations())
    return cached[1]


def _domain_module(domain: str, name: str):
    module = f"{domain}.{name}"
    return importlib.import_module(module) if importlib.util.find_spec(module) else None


class IdConverter(IntegerConverter):
    """``<int:...>`` ids are 1 … 2³¹−1 (a PostgreSQL integer): larger numbers are a 404, not a 500."""

    def __init__(self, url_map, fixed_digits=0, min=1, max=2**31 - 1, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _id_schema(_converter) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def _init_api(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    if not any(conv is IdConverter for conv, _fn in api._converters):
        api.register_converter(IdConverter, _id_schema)
    api.init_app(app, spec_kwargs={"info": {"description": "Every operation names its permission "
                                            "(x-permission); errors share one JSON shape."}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for domain in PACKAGES:
        module = _domain_module(domain, "api")
        if module is not None:
            csrf.exempt(module.blp)
            api.register_blueprint(module.blp)


def _init_pages(app: Flask) -> None:
    from core.observability import blp as obs

    csrf.exempt(obs)
    app.register_blueprint(obs)
    for domain in PACKAGES:
        module = _domain_module(domain, "views")
        if module is not None:
            app.register_blueprint(module.bp)


def _dispatch_leftovers(_exc=None) -> None:
    from core.events import dispatch_pending

    try:
        dispatch_pending()
    except Exception:  # the sweeper will pick the events up
        app_logger = __import__("logging").getLogger(__name__)
        app_logger.exception("dispatch after request failed")
