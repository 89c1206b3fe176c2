"""Domain errors and their one JSON shape.

Services raise ``DomainError`` subclasses; the app turns them into a 4xx whose body names the
rule: ``{"error": "bidding_period_too_short", "rule": "招标投标法 第二十四条", "detail": ...}``
(DESIGN §4).  Anything unexpected becomes a 500 with a request id and no internals.
"""
from __future__ import annotations

import logging

from flask import g, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A refused operation: ``code`` is stable for clients, ``rule`` cites the article if any."""

    status = 409
    code = "domain_error"

    def __init__(self, detail: str = "", *, code: str | None = None, rule: str | None = None,
                 status: int | None = None, **extra):
        super().__init__(detail or code or self.code)
        self.detail = detail
        self.code = code or self.code
        self.rule = rule
        self.status = status or self.status
        self.extra = extra

    def to_dict(self) -> dict:
        body = {"error": self.code, "detail": self.detail}
        if self.rule:
            body["rule"] = self.rule
        body.update(self.extra)
        return body


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"


def wants_json() -> bool:
    """API paths and clients that ask for JSON get JSON; pages get an HTML error page."""
    if request.path.startswith("/api/") or request.path in ("/metrics", "/healthz"):
        return True  # machines: a scraper gets a 401, never a sign-in page
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _respond(status: int, body: dict):
    from core.db import db

    db.session.rollback()  # never leave a half-written change behind a refusal
    body.setdefault("request_id", g.get("request_id"))
    if wants_json():
        return jsonify(body), status
    return render_template("core/error.html", status=status, body=body), status


def register_error_handlers(app) -> None:
    """Map domain errors, HTTP errors and the unexpected onto the one shape."""

    @app.errorhandler(DomainError)
    def _domain(err: DomainError):
        if err.code == "totp_enrolment_required" and not wants_json():
            return redirect(url_for("core_pages.account"))
        if err.status == 401 and not wants_json():
            return redirect(url_for("core_pages.login", next=request.full_path.rstrip("?")))
        return _respond(err.status, err.to_dict())

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):
        return _respond(403, {"error": "csrf_failed", "detail": err.description})

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        body = {"error": (err.name or "error").lower().replace(" ", "_"), "detail": err.description}
        messages = getattr(err, "data", {}).get("messages") if hasattr(err, "data") else None
        if messages:
            body["errors"] = messages
            body["error"] = "validation_failed"
        response = _respond(err.code or 500, body)
        if err.code == 405 and hasattr(err, "valid_methods") and err.valid_methods:
            resp, status = response
            resp.headers["Allow"] = ", ".join(err.valid_methods)
            return resp, status
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        logger.exception("unhandled error")
        return _respond(500, {"error": "internal_error", "detail": "unexpected error; quote the request id"})
