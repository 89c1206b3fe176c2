"""The hall over real HTTP (gunicorn as in production): 200 bidders watching the live stream at
once, and the bidder tool's ``ggzy bid unseal --submit`` and ``ggzy bid confirm-record``.

The lot's deadline is moved to "now" once the bids are in, so the opening runs on the real clock
the server process uses.
"""
from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from bidding import services
from bidding.tool.cli import cli as bid_cli
from core.clock import now
from core.db import db
from core.events import commit
from tests.bidding.opening_kit import close_at_deadline, data_key, make_opening, sealed_package
from tests.bidding.server import Gunicorn
from tests.bidding.submitting import new_bidder, sha

WATCHERS = 200
pytestmark = pytest.mark.usefixtures("fresh_store")


@pytest.fixture
def server(app, tmp_path):
    from tests.conftest import app_config

    web = Gunicorn(app_config(), tmp_path, storage_dir=tmp_path / "store", upload_dir=tmp_path / "uploads",
                   workers=2, threads=WATCHERS + 16)  # a worker may be handed every stream
    yield web
    web.stop()


def _opening_with(app, tmp_path, count: int):
    """A lot whose ``count`` bids are in and whose deadline has just passed; the opening has started.

    The ``fresh_store`` fixture's store (``tmp_path/store``) is the directory the server uses.
    """
    world = make_opening()
    for i in range(count):
        bidder = new_bidder()
        data = sealed_package(tmp_path, world.lot, bidder, price=f"{2_000_000 + i}.00", size=1000, name=f"p{i}.bid")
        services.submit_package(user=bidder.user, lot=world.lot, stream=io.BytesIO(data), length=len(data),
                                sha256=sha(data))
        commit()
        world.bidders.append(bidder)
        world.packages[bidder.org_id] = data
        (tmp_path / f"p{i}.bid").write_bytes(data)
    world.lot.bid_deadline = now() + dt.timedelta(milliseconds=1)
    commit()
    while now() <= world.lot.bid_deadline:
        pass
    assert close_at_deadline(world) == "closed"
    return world


def _watch(url: str, token: str, want_stage: str, seen: dict, key: int, ready: threading.Barrier) -> None:
    """Read the stream until a hall event at ``want_stage`` arrives; record the stages seen."""
    parts = urlparse(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", parts.path, headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
        resp = conn.getresponse()
        seen[key] = [resp.status]
        first = True
        event = None
        while True:
            line = resp.fp.readline().decode()
            if not line:
                return
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "hall":
                stage = json.loads(line[5:])["stage"]
                seen[key].append(stage)
                if first:
                    first = False
                    ready.wait(timeout=120)
                if stage == want_stage:
                    return
    except (OSError, threading.BrokenBarrierError) as err:
        seen.setdefault(key, []).append(f"error: {err}")
    finally:
        conn.close()


def test_two_hundred_bidders_follow_the_hall_live(app, server, ctx, tmp_path):
    world = _opening_with(app, tmp_path, WATCHERS)
    tokens = [b.token for b in world.bidders]
    server.start()
    url = f"{server.url}/api/bidding/lots/{world.lot_id}/opening/events"
    seen: dict[int, list] = {}
    ready = threading.Barrier(WATCHERS + 1)
    threads = [threading.Thread(target=_watch, args=(url, tokens[i], "listed", seen, i, ready), daemon=True)
               for i in range(WATCHERS)]
    for t in threads:
        t.start()
    ready.wait(timeout=180)  # every client is connected and has the first snapshot
    import requests

    resp = requests.post(f"{server.url}/api/bidding/lots/{world.lot_id}/opening/bidder-list",
                         headers=world.host_headers, timeout=30)
    assert resp.status_code == 200, resp.text
    for t in threads:
        t.join(timeout=120)
    assert len(seen) == WATCHERS
    assert all(v[0] == 200 and v[1] == "waiting" and v[-1] == "listed" for v in seen.values()), \
        {k: v for k, v in seen.items() if v[-1] != "listed"}


def _pem(private, path: Path) -> Path:
    path.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return path


def test_bidder_tool_unseals_and_confirms_over_http(app, server, ctx, tmp_path):
    import requests

    world = _opening_with(app, tmp_path, 3)
    server.start()
    api = f"{server.url}/api/bidding/lots/{world.lot_id}"
    for step in ("bidder-list", "window"):
        assert requests.post(f"{api}/opening/{step}", headers=world.host_headers, timeout=30).status_code == 200
    runner = CliRunner()
    for i, bidder in enumerate(world.bidders):
        key = _pem(bidder.encrypt, tmp_path / f"enc{i}.pem")
        result = runner.invoke(bid_cli, ["unseal", str(tmp_path / f"p{i}.bid"), "--key", str(key), "--submit",
                                         "--platform", server.url, "--token", bidder.token])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["status"] == "unsealed"
    wrong = runner.invoke(bid_cli, ["unseal", str(tmp_path / "p0.bid"), "--key", str(tmp_path / "enc1.pem"),
                                    "--submit", "--platform", server.url, "--token", world.bidders[0].token])
    assert wrong.exit_code == 1  # another bidder's key does not open this package
    assert requests.post(f"{api}/opening/close", headers=world.host_headers, timeout=30).status_code == 200
    sign = _pem(world.bidders[0].sign, tmp_path / "sign0.pem")
    confirmed = runner.invoke(bid_cli, ["confirm-record", "--lot", str(world.lot_id), "--key", str(sign),
                                        "--platform", server.url, "--token", world.bidders[0].token])
    assert confirmed.exit_code == 0, confirmed.output
    assert json.loads(confirmed.output)["kind"] == "confirmation"
    db.session.expire_all()
    hall = requests.get(f"{api}/opening", headers=world.host_headers, timeout=30).json()
    assert [r["kind"] for r in hall["responses"]] == ["confirmation"]
    assert data_key(world, world.bidders[0])  # the package the tool read is the one submitted
