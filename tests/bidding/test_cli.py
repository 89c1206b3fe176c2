"""``ggzy bid …``: offline keygen → pack → inspect → unseal, custodians' decrypt-share, exit codes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bidding.package import container as c
from bidding.package import custody
from bidding.tool.actions import _save_private
from bidding.tool.cli import cli
from tests.bidding.helpers import Keys

ROOT = Path(__file__).resolve().parents[2]


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _bid_folder(tmp: Path) -> tuple[Path, Path]:
    folder = tmp / "bid"
    (folder / "技术标").mkdir(parents=True)
    (folder / "技术标" / "方案.txt").write_text("施工方案")
    (folder / "资格.txt").write_text("qualification")
    schedule = tmp / "报价.csv"
    schedule.write_text("名称,金额\n土方,100.00\n钢筋,250.50\n")
    return folder, schedule


def test_offline_round_trip(tmp_path):
    keys = Keys()
    made = _run("keygen", "--out", tmp_path / "keys")
    assert made.exit_code == 0
    public = json.loads(made.output)
    assert oct((tmp_path / "keys/sign.pem").stat().st_mode & 0o777) == "0o600"
    assert _run("keygen", "--out", tmp_path / "keys").exit_code == 2
    folder, schedule = _bid_folder(tmp_path)
    opening = c.b64e(c.raw_public(keys.opening))
    packed = _run("pack", folder, "--lot", 7, "--out", tmp_path / "p.bid", "--schedule", schedule,
                  "--sign-key", tmp_path / "keys/sign.pem", "--encrypt-key", tmp_path / "keys/encrypt.pem",
                  "--opening-key", opening, "--dongle-serial", "GLD-9")
    assert packed.exit_code == 0, packed.output
    assert json.loads(packed.output)["files"] == 3
    shown = _run("inspect", tmp_path / "p.bid", "--public-key", public["sign"]["public_key"])
    assert shown.exit_code == 0
    report = json.loads(shown.output)
    assert report["checks"]["signature"] == "ok" and "dongle_serial" in report["manifest"]["device"]
    assert "土方" not in shown.output and "方案" not in shown.output  # names and prices are sealed
    opened = _run("unseal", tmp_path / "p.bid", "--out", tmp_path / "mine", "--key", tmp_path / "keys/encrypt.pem")
    assert opened.exit_code == 0, opened.output
    assert json.loads(opened.output)["schedule_total"] == "350.50"
    assert (tmp_path / "mine/技术标/方案.txt").read_text() == "施工方案"
    assert (tmp_path / "mine/schedule/报价.csv").exists()
    info = json.loads((tmp_path / "mine.info.json").read_text())
    assert info["info"]["device"]["dongle_serial"] == ["GLD-9"]


def test_unseal_with_two_decrypted_shares(tmp_path):
    keys = Keys()
    custodians = [X25519PrivateKey.generate() for _ in range(3)]
    _run("keygen", "--out", tmp_path / "keys")
    folder, _schedule = _bid_folder(tmp_path)
    _run("pack", folder, "--lot", keys.lot_id, "--out", tmp_path / "p.bid", "--sign-key",
         tmp_path / "keys/sign.pem", "--encrypt-key", tmp_path / "keys/encrypt.pem",
         "--opening-key", c.b64e(c.raw_public(keys.opening)))
    clear_files = []
    for share, key in list(zip(keys.shares, custodians, strict=True))[:2]:
        sealed = custody.encrypt_share(share, c.raw_public(key))
        (tmp_path / f"s{share.x}.json").write_text(json.dumps(sealed))
        key_path = tmp_path / f"k{share.x}.pem"
        _save_private(key, key_path)
        got = _run("custody", "decrypt-share", tmp_path / f"s{share.x}.json", "--key", key_path,
                   "--out", tmp_path / f"clear{share.x}.json")
        assert got.exit_code == 0, got.output
        assert oct((tmp_path / f"clear{share.x}.json").stat().st_mode & 0o777) == "0o600"
        clear_files.append(tmp_path / f"clear{share.x}.json")
    wrong = _run("custody", "decrypt-share", tmp_path / "s1.json", "--key", tmp_path / "k2.pem", "--out",
                 tmp_path / "x.json")
    assert wrong.exit_code == 1 and "wrong_key" in wrong.output
    one = _run("unseal", tmp_path / "p.bid", "--out", tmp_path / "o1", "--share", clear_files[0])
    assert one.exit_code == 1 and "not_enough_shares" in one.output
    two = _run("unseal", tmp_path / "p.bid", "--out", tmp_path / "o2", "--share", clear_files[0],
               "--share", clear_files[1])
    assert two.exit_code == 0, two.output
    assert (tmp_path / "o2/资格.txt").read_text() == "qualification"


def test_refusals_and_usage_errors(tmp_path):
    _run("keygen", "--out", tmp_path / "keys")
    folder, _ = _bid_folder(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("名称,金额\n土方,abc\n,1\n")
    args = [folder, "--lot", 1, "--out", tmp_path / "p.bid", "--sign-key", tmp_path / "keys/sign.pem",
            "--encrypt-key", tmp_path / "keys/encrypt.pem"]
    got = _run("pack", *args, "--schedule", bad, "--opening-key", c.b64e(bytes(32)))
    assert got.exit_code == 1 and "row 2: amount 'abc'" in got.output and "row 3: item is empty" in got.output
    assert _run("pack", *args).exit_code == 2  # neither --opening-key nor --platform
    assert _run("pack", *args, "--opening-key", "not base64!").exit_code == 1
    swapped = _run("pack", folder, "--lot", 1, "--out", tmp_path / "p.bid", "--sign-key",
                   tmp_path / "keys/encrypt.pem", "--encrypt-key", tmp_path / "keys/sign.pem",
                   "--opening-key", c.b64e(bytes(32)))
    assert swapped.exit_code == 1 and "bad_key_file" in swapped.output
    (tmp_path / "plain.bid").write_bytes(b"just a document")
    refused = _run("inspect", tmp_path / "plain.bid")
    assert refused.exit_code == 1 and "not_a_package" in refused.output
    assert _run("inspect", tmp_path / "absent.bid").exit_code == 2


def test_platform_options_go_through_the_public_api(app, client, tmp_path, monkeypatch):
    """--platform for pack/inspect and custody fetch, routed into the test client."""
    from bidding import services
    from bidding.tool import cli as bid_cli
    from core.events import commit
    from tests.bidding.factories import make_bidder, make_custodians, make_lot
    from tests.factories import token_for

    with app.app_context():
        lot = make_lot()
        keepers = make_custodians(lot.id)
        services.create_opening_key(lot_id=lot.id)
        bidder, sign, encrypt = make_bidder()
        commit()
        lot_id, host_token, bidder_token = lot.id, token_for(keepers["opening_host"][0]), token_for(bidder)

    def fake_http(method, url, *, token=None, body=None, length=None):
        path = url.split("http://platform", 1)[1]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = client.open(path, method=method, data=body.read() if body else None, headers=headers,
                           content_type="application/octet-stream")
        if resp.status_code >= 400:
            raise c.PackageError(resp.json["error"], resp.json["detail"])
        return resp.json

    monkeypatch.setattr(bid_cli, "_http", fake_http)
    _save_private(sign, tmp_path / "sign.pem")
    _save_private(encrypt, tmp_path / "encrypt.pem")
    folder, schedule = _bid_folder(tmp_path)
    packed = _run("pack", folder, "--lot", lot_id, "--out", tmp_path / "p.bid", "--schedule", schedule,
                  "--sign-key", tmp_path / "sign.pem", "--encrypt-key", tmp_path / "encrypt.pem",
                  "--platform", "http://platform")
    assert packed.exit_code == 0, packed.output
    online = _run("inspect", tmp_path / "p.bid", "--platform", "http://platform", "--token", bidder_token)
    assert online.exit_code == 0, online.output
    assert json.loads(online.output)["platform"]["valid"] is True
    fetched = _run("custody", "fetch", "--platform", "http://platform", "--token", host_token, "--out",
                   tmp_path / "shares")
    assert fetched.exit_code == 0, fetched.output
    record = json.loads(Path(fetched.output.strip()).read_text())
    assert custody.decrypt_share(record, keepers["opening_host"][1]).lot_id == lot_id


def test_ggzy_bid_runs_without_app_or_database(tmp_path):
    env = {**os.environ, "GGZY_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
           "GGZY_ENV": "production"}
    got = subprocess.run([sys.executable, "-c", "from core.cli import main; main()", "bid", "keygen", "--out",
                          str(tmp_path / "k")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["sign"]["kid"].startswith("ed25519:")
