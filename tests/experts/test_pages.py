"""Pool manager pages: only the pool manager; an import shows row-level errors; a bad file is a 422."""
from __future__ import annotations

import io

from core.events import commit
from tests.experts import helpers as h
from tests.factories import PASSWORD, bearer, make_user, token_for
from tests.trading.test_pages import csrf_from


def test_pool_page_by_role_and_import(client, ctx):
    manager = make_user("pool_manager")
    h.pool(manager, n=2)
    commit()
    for role in ("supervisor", "expert", "bidder"):
        assert client.get("/experts/pool", headers=bearer(token_for(make_user(role)))).status_code == 403
    page = client.get("/login")
    assert client.post("/login", data={"csrf_token": csrf_from(page), "email": manager.email,
                                       "password": PASSWORD}).status_code == 302
    listing = client.get("/experts/pool")
    assert listing.status_code == 200
    token = csrf_from(listing)
    csv = ("name,id_number,title,senior_title,years,employer_uscc,region,specialties\n"
           f"陈七,330203197001015555,高级工程师,是,9,{h.uscc()},330100,A0101\n"
           f"周八,330203197001016666,工程师,否,2,{h.uscc()},330100,A0101\n").encode()
    commit()
    page = client.post("/experts/pool/import",
                       data={"csrf_token": token, "file": (io.BytesIO(csv), "pool.csv")}, content_type="multipart/form-data")
    assert page.status_code == 200 and "not_qualified" in page.get_data(as_text=True)
    bad = client.post("/experts/pool/import",
                      data={"csrf_token": token, "file": (io.BytesIO(b"garbage"), "pool.xlsx")}, content_type="multipart/form-data")
    assert bad.status_code == 422
