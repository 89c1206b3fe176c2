"""Factory functions (Indico/CTFd style): build real rows through the services."""
from __future__ import annotations

import itertools

from core import identity
from core.events import commit

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_org(name: str | None = None, kind: str = "enterprise", **extra):
    n = next(_seq)
    body = f"91330200MA{n:07d}"
    return identity.create_organisation(uscc=identity.make_uscc(body), name=name or f"测试企业{n}有限公司",
                                        kind=kind, **extra)


def make_user(role: str = "bidder", org=None, email: str | None = None, password: str = PASSWORD):
    n = next(_seq)
    if org is None and role in ("bidder", "agency"):
        org = make_org(kind="enterprise" if role == "bidder" else "agency")
    return identity.create_user(email=email or f"{role}{n}@test.ggzy", name=f"{role} {n}", role=role,
                                password=password, organisation=org)


def token_for(user) -> str:
    _row, clear = identity.issue_token(user=user, name="test")
    commit()
    return clear


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
