"""Request ids, structured (JSON) logs, ``/healthz`` and Prometheus ``/metrics``."""
from __future__ import annotations

import json
import logging
import time
import uuid

from flask import Blueprint, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text

from core.permissions import permission

blp = Blueprint("observability", __name__)
REGISTRY = CollectorRegistry()
REQUESTS = Counter("ggzy_http_requests_total", "HTTP requests", ["method", "endpoint", "status"],
                   registry=REGISTRY)
LATENCY = Histogram("ggzy_http_request_seconds", "HTTP request latency", ["endpoint"], registry=REGISTRY)


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the request id, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        data = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                "logger": record.name, "msg": record.getMessage(),
                "request_id": getattr(record, "request_id", "")}
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from flask import has_request_context

        record.request_id = g.get("request_id", "") if has_request_context() else ""
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Idempotent: one JSON handler on the root logger."""
    root = logging.getLogger()
    if any(getattr(h, "_ggzy", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler._ggzy = True
    root.addHandler(handler)
    root.setLevel(level)


def init_request_tracking(app) -> None:
    @app.before_request
    def _start():
        g.request_id = (request.headers.get("X-Request-ID") or uuid.uuid4().hex)[:40]
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        endpoint, method, status = metric_labels(response.status_code)
        REQUESTS.labels(method, endpoint, status).inc()
        LATENCY.labels(endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response


#: blueprints whose requests say who bids, and how much, on which lot (uploads, submissions, bonds,
#: withdrawals, the opening key fetched before packing): counted together, never per route or status
SECRET_BLUEPRINTS = ("bidding", "bidding_pages")
#: routes of other blueprints with the same secret (who downloaded the tender documents, before the deadline)
SECRET_ROUTE_PARTS = ("/download",)
SECRET_LABEL = "(bidding)"


def metric_labels(status: int) -> tuple[str, str, str]:
    """(endpoint, method, status) of this request for the counters.  Bidding requests (and document
    downloads) share one label with the status class only, so no counter grows with one lot's bids,
    bonds, withdrawals or downloads."""
    rule = request.url_rule.rule if request.url_rule else "unmatched"
    if (request.blueprint or "").split(".")[0] in SECRET_BLUEPRINTS or any(p in rule for p in SECRET_ROUTE_PARTS):
        return SECRET_LABEL, "*", f"{status // 100}xx"
    return rule, request.method, str(status)


def _check(fn) -> dict:
    try:
        detail = fn()
        return {"ok": True, **(detail or {})}
    except Exception as exc:  # a health check reports, never raises
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _database():
    from core.db import db

    db.session.execute(text("select 1"))


def _broker():
    celery = current_app.extensions["celery"]
    if celery.conf.task_always_eager:
        return {"mode": "eager"}
    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {"url": conn.as_uri()}


def _store():
    ok, detail = current_app.extensions["storage"].healthcheck()
    if not ok:
        raise RuntimeError(detail)
    return {"detail": detail}


def _scheduler():
    from core.scheduler import lease_status

    status = lease_status()
    if not status["held"]:
        raise RuntimeError("no scheduler holds the lease")
    return status


@blp.get("/healthz")
@permission("health.read")
def healthz():
    """Database, broker, object store and scheduler lease; 503 if any is down."""
    checks = {"database": _check(_database), "broker": _check(_broker), "store": _check(_store),
              "scheduler": _check(_scheduler)}
    ok = all(c["ok"] for c in checks.values())
    return jsonify({"ok": ok, "checks": checks}), 200 if ok else 503


@blp.get("/metrics")
@permission("metrics.read")
def metrics():
    """Prometheus text, for admins only (a bearer token of an admin account, as the scraper's
    ``authorization`` setting): request counts are operational, not public."""
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)
