"""``pip install .`` with no extras, in a fresh venv, runs the bidder tool against a live platform.

The venv is new every session and never sees the development venv (no ``--system-site-packages``),
so a package the code imports but pyproject.toml leaves out (as ``requests`` once was: a dev
dependency only) makes ``ggzy bid submit`` fail here.  The wheel is built as pip builds it (build
isolation, setuptools from pyproject's ``[build-system]``) from a copy of the work tree, so the
tree gets no ``build/`` or ``*.egg-info``.

Speed: the dependencies come from a wheelhouse kept across runs (``GGZY_TEST_WHEELHOUSE``,
default ``$TMPDIR/ggzy-wheelhouse``), installed with ``--no-index``.  pip installs only what the
project's metadata asks for, so a wheel lying in the wheelhouse never stands in for an undeclared
dependency.  When the offline install cannot be resolved (first run, a new or raised
dependency), the wheelhouse is filled from the package index and the install is tried again;
without the index that is a failure naming what is missing, never a skip.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.core.test_browser import live_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = Path(os.environ.get("GGZY_TEST_WHEELHOUSE") or Path(tempfile.gettempdir()) / "ggzy-wheelhouse")
BUILD_REQUIRES = "setuptools>=77"  # [build-system] requires, kept in the wheelhouse for offline builds
#: not copied into the build: caches, venvs, and what the wheel never holds
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "venv", "instance", "build", "dist", "*.egg-info",
                                    "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "tests",
                                    "bench", "docs")
PIP_TIMEOUT = 1200


class PlainInstall:
    def __init__(self, venv: Path, log: list[str]):
        self.venv, self.log = venv, log

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *args, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True,
                              timeout=timeout)


def _env() -> dict:
    """The caller's environment, less what would let the venv see this checkout or its settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PIP_USER")
           and not k.startswith("GGZY_")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _pip(venv: Path, *args, offline: bool) -> subprocess.CompletedProcess:
    where = ["--no-index", "--find-links", str(WHEELHOUSE)] if offline else ["--find-links", str(WHEELHOUSE)]
    return subprocess.run([str(venv / "bin" / "python"), "-m", "pip", *args, *where], env=_env(),
                          capture_output=True, text=True, timeout=PIP_TIMEOUT)


def _build_and_install(venv: Path, src: Path, dist: Path, *, offline: bool) -> subprocess.CompletedProcess:
    """Build the project's wheel (pip's normal isolated build), then install it with no extras."""
    built = _pip(venv, "wheel", "--no-deps", "--wheel-dir", dist, src, offline=offline)
    if built.returncode != 0:
        return built
    (wheel,) = dist.glob("ggzy-*.whl")
    # --no-compile: Python compiles each module when first imported; saves ~25 s of a ~60 s fixture
    return _pip(venv, "install", "--no-compile", wheel, offline=offline)


def _fill_wheelhouse(venv: Path, src: Path) -> subprocess.CompletedProcess:
    """Every wheel the project (no extras) and its build need, from the index; files already there stay."""
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    got = _pip(venv, "wheel", "--wheel-dir", WHEELHOUSE, src, BUILD_REQUIRES, offline=False)
    for own in WHEELHOUSE.glob("ggzy-*.whl"):  # the project itself is built fresh every time
        own.unlink()
    return got


@pytest.fixture(scope="session")
def plain_install(tmp_path_factory) -> PlainInstall:
    root = tmp_path_factory.mktemp("plain-install")
    src, dist, venv = root / "src", root / "dist", root / "venv"
    shutil.copytree(ROOT, src, ignore=NOT_COPIED)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=_env(), timeout=300)
    log = []
    done = _build_and_install(venv, src, dist, offline=True)
    if done.returncode != 0:
        log.append(f"offline install refused, filling {WHEELHOUSE} from the package index")
        filled = _fill_wheelhouse(venv, src)
        if filled.returncode != 0:
            pytest.fail(f"a plain install needs the package index (PyPI) or a wheelhouse with every dependency "
                        f"at {WHEELHOUSE} (GGZY_TEST_WHEELHOUSE); filling it failed:\n{filled.stderr[-3000:]}")
        shutil.rmtree(dist, ignore_errors=True)
        done = _build_and_install(venv, src, dist, offline=True)
    if done.returncode != 0:
        pytest.fail(f"pip install of the project (no extras) failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    log.append(f"fresh venv + build + install: {time.monotonic() - started:.0f} s")
    print("\n".join(log))  # shown with -s or -rA: the cost of this fixture
    return PlainInstall(venv, log)


def test_the_plain_install_is_its_own(plain_install, tmp_path):
    """The tool runs from the venv's copy of the project; the extras are not there; pip's check holds."""
    where = plain_install.run(plain_install.bin("python"), "-c",
                              "import bidding, sys; print(bidding.__file__); print(sys.prefix)",
                              cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    module, prefix = where.stdout.split()
    assert Path(module).is_relative_to(plain_install.venv) and Path(prefix) == plain_install.venv
    extras = plain_install.run(plain_install.bin("python"), "-c",
                               "import importlib.util as u; print([m for m in ('sklearn', 'rich', 'pytest') "
                               "if u.find_spec(m)])", cwd=tmp_path)
    assert extras.stdout.strip() == "[]", extras.stdout + extras.stderr
    checked = plain_install.run(plain_install.bin("python"), "-m", "pip", "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# nodb: run on the SQLite pass only; what this checks is the install (the server runs in this process,
# whatever its database), and a second pass would build a second venv
@pytest.mark.nodb
def test_keygen_pack_submit_with_the_plain_install(app, live_server, plain_install, tmp_path):  # noqa: F811
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from bidding.models import Bid
    from bidding.tool.actions import load_private
    from core.db import db
    from core.events import commit
    from tests.bidding.factories import register
    from tests.bidding.submitting import open_lot
    from tests.factories import make_user, token_for

    ggzy = plain_install.bin("ggzy")
    keys = tmp_path / "keys"
    made = plain_install.run(ggzy, "bid", "keygen", "--out", keys, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    with app.app_context():
        lot = open_lot()
        user = make_user("bidder")
        owner = {"organisation_id": user.organisation_id}
        register(user, load_private(keys / "sign.pem", Ed25519PrivateKey), kind="sign", owner=owner)
        register(user, load_private(keys / "encrypt.pem", X25519PrivateKey), kind="encrypt", owner=owner)
        commit()
        lot_id, token = lot.id, token_for(user)
    folder = tmp_path / "bid"
    folder.mkdir()
    (folder / "技术标.txt").write_text("施工方案")
    schedule = tmp_path / "报价.csv"
    schedule.write_text("名称,金额\n土方,100.00\n")
    package = tmp_path / "p.bid"
    packed = plain_install.run(ggzy, "bid", "pack", folder, "--lot", lot_id, "--out", package, "--schedule",
                               schedule, "--sign-key", keys / "sign.pem", "--encrypt-key", keys / "encrypt.pem",
                               "--platform", live_server, cwd=tmp_path)
    assert packed.returncode == 0, packed.stderr
    submitted = plain_install.run(ggzy, "bid", "submit", package, "--lot", lot_id, "--platform", live_server,
                                  "--token", token, "--receipt", tmp_path / "receipt.json", cwd=tmp_path)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    answer = json.loads(submitted.stdout)
    receipt = json.loads((tmp_path / "receipt.json").read_text())
    assert answer["already_submitted"] is False and receipt["bid_id"] == answer["bid_id"]
    with app.app_context():
        bid = db.session.get(Bid, answer["bid_id"])
        assert bid.state == "submitted" and bid.package_sha256 == receipt["package_sha256"]


def test_monitoring_runs_without_the_train_extra(plain_install, tmp_path):
    """scikit-learn is not installed: a scan works, ``--train`` stops naming the extra."""
    ggzy = plain_install.bin("ggzy")
    sim = plain_install.run(ggzy, "monitoring", "simulate", "--out", tmp_path / "m", "--tenders", 60, cwd=tmp_path)
    assert sim.returncode == 0, sim.stderr
    bids = tmp_path / "m" / "bids.csv"
    scan = plain_install.run(ggzy, "monitoring", "scan", bids, "--out", tmp_path / "s.jsonl", cwd=tmp_path)
    assert scan.returncode == 0, scan.stderr
    trained = plain_install.run(ggzy, "monitoring", "scan", bids, "--out", tmp_path / "t.jsonl", "--train", bids,
                                cwd=tmp_path)
    assert trained.returncode == 1 and "pip install 'ggzy[train]'" in trained.stderr, trained.stderr
