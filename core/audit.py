"""Write append-only audit rows in the caller's transaction."""
from __future__ import annotations

from flask import g, has_request_context, request

from core.db import db
from core.models import AuditLog


def audit(action: str, *, object_type: str = "", object_id: object = "", actor=None, **detail) -> AuditLog:
    """Record who did what to which object; ``actor`` defaults to the signed-in user."""
    if actor is None and has_request_context():
        actor = g.get("user")
    row = AuditLog(
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:200],
        actor_id=getattr(actor, "id", None),
        actor_role=getattr(actor, "role", "system"),
        ip=request.remote_addr or "" if has_request_context() else "",
        request_id=g.get("request_id", "") if has_request_context() else "",
        detail=detail,
    )
    db.session.add(row)
    return row
