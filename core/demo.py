"""``ggzy demo``: migrate, create keys, seed demo organisations and users through the services,
then run web + worker + scheduler with no server to install (DESIGN §3, embedded default).

Demo users' private key files go under ``instance/keys/demo/`` so a newcomer can try the bidder tool.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from sqlalchemy import select

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "ggzy-demo-2026"

#: (USCC body without the check character, name, kind, region, legal representative)
ORGS = [
    ("12330200MB0A12347", "宁波市公共资源交易中心", "trading_centre", "330200", "陈立新"),
    ("11330200MB0B56787", "宁波市住房和城乡建设局", "supervisor_dept", "330200", "王建国"),
    ("91330200MA2C34567", "浙江甬诚工程咨询有限公司", "agency", "330203", "李晓燕"),
    ("91330200MA2D78907", "宁波市轨道交通集团有限公司", "tenderee", "330201", "赵海峰"),
    ("91330200MA2E11227", "浙江华东建设集团有限公司", "enterprise", "330106", "周志强"),
    ("91330200MA2F33447", "宁波宏远市政工程有限公司", "enterprise", "330203", "孙丽华"),
    ("91330200MA2G55667", "杭州恒达建筑工程有限公司", "enterprise", "330102", "吴国平"),
    ("91330200MA2H77887", "绍兴永安路桥建设有限公司", "enterprise", "330602", "郑海涛"),
]

#: (email, name, role, index into ORGS or None)
USERS = [
    ("admin@demo.ggzy", "系统管理员", "admin", 0),
    ("supervisor@demo.ggzy", "刘监督", "supervisor", 1),
    ("archivist@demo.ggzy", "黄档案", "archivist", 0),
    ("pool@demo.ggzy", "何专家库", "pool_manager", 0),
    ("agency@demo.ggzy", "李代理", "agency", 2),
    ("tenderee@demo.ggzy", "赵业主", "agency", 3),
    ("bidder1@demo.ggzy", "周投标", "bidder", 4),
    ("bidder2@demo.ggzy", "孙投标", "bidder", 5),
    ("bidder3@demo.ggzy", "吴投标", "bidder", 6),
    ("bidder4@demo.ggzy", "郑投标", "bidder", 7),
    ("expert@demo.ggzy", "钱专家", "expert", None),
]


def seed_demo() -> bool:
    """Create the demo world once; returns False if it already exists."""
    from core import identity
    from core.db import db
    from core.models import User

    if db.session.scalar(select(User.id).where(User.email == USERS[0][0])):
        return False
    orgs = [identity.create_organisation(uscc=identity.make_uscc(body), name=name, kind=kind, region=region,
                                         legal_rep={"name": rep}, contacts=[{"name": rep, "phone": "0574-87000000"}])
            for body, name, kind, region, rep in ORGS]
    for email, name, role, org_index in USERS:
        user = identity.create_user(email=email, name=name, role=role, password=DEMO_PASSWORD,
                                    organisation=orgs[org_index] if org_index is not None else None)
        register_demo_keys(user)
        if user.needs_totp:
            enrol_demo_totp(user)
    for module in _domain_seeders():
        module.seed()
    return True


def ready_to_seed(domain: str, model) -> bool:
    """The guard every domain's ``seed`` starts with: demo mode only, and the domain's tables there.

    :raises RuntimeError: outside ``GGZY_ENV=demo`` (demo data never reaches a real database)
    :returns: False, with a warning, while ``model``'s table is not migrated yet
    """
    from flask import current_app
    from sqlalchemy import inspect

    from core.db import db

    if current_app.config.get("GGZY_ENV") != "demo":
        raise RuntimeError(f"{domain} demo data is made only when GGZY_ENV=demo")
    if not inspect(db.engine).has_table(model.__tablename__):
        logger.warning("%s demo skipped: the %s tables are not migrated yet (ggzy db upgrade)", domain, domain)
        return False
    return True


def demo_user(email: str):
    """A demo user by e-mail, or None."""
    from core.db import db
    from core.models import User

    return db.session.scalar(select(User).where(User.email == email))


def enrol_demo_totp(user) -> None:
    """Demo only: enrol the second factor so a newcomer can sign in with `ggzy demo-code EMAIL`."""
    import pyotp

    from core import second_factor

    second_factor.start_totp(user)
    second_factor.confirm_totp(user, pyotp.TOTP(user.totp_secret).at(_now()))


def _now():
    from core.clock import now

    return now()


def _domain_seeders():
    """Each domain's ``demo.seed``, bottom layer first: a domain's demo builds on those below it."""
    from core.domains import DOMAINS

    for domain in DOMAINS:
        name = f"{domain}.demo"
        if importlib.util.find_spec(name):
            yield importlib.import_module(name)


def register_demo_keys(user) -> None:
    """Generate and register demo key pairs, keeping the private halves under instance/keys/demo/<email>/.

    Enterprises and agencies get organisation keys (``sign.pem``, ``encrypt.pem``, used by the bidder
    tool).  Future key-share holders — supervisors, agency staff who host openings, the trading centre's
    admin — also get personal keys (``user-sign.pem``, ``user-encrypt.pem``): a share is encrypted to a
    person, not to an organisation.
    """
    if user.organisation_id and user.role in ("bidder", "agency"):
        _register_pair(user, {"organisation_id": user.organisation_id}, prefix="")
    if user.role in ("agency", "supervisor", "admin"):
        _register_pair(user, {"user_id": user.id}, prefix="user-")


def _register_pair(user, owner: dict, prefix: str) -> None:
    from flask import current_app

    from core import crypto
    from core.keys import issue_challenge, owner_ref, platform_keys, register_key

    key_dir = Path(current_app.config["GGZY_KEY_DIR"]) / "demo" / user.email
    for kind in ("sign", "encrypt"):
        if _org_has_key(owner, kind):
            continue
        private = crypto.generate(kind)
        crypto.save_private(private, key_dir / f"{prefix}{kind}.pem")
        challenge = issue_challenge(user)
        pub = crypto.b64e(crypto.raw_public(private))
        message = crypto.pop_message(challenge=challenge, kind=kind, public_key_b64=pub, owner=owner_ref(
            organisation_id=owner.get("organisation_id"), user_id=owner.get("user_id")))
        proof = crypto.make_proof(private, message, platform_keys().encryption_public())
        register_key(actor=user, kind=kind, public_key_b64=pub, challenge=challenge, proof=proof, **owner)


def _org_has_key(owner: dict, kind: str) -> bool:
    from core.keys import valid_keys

    return bool(valid_keys(kind=kind, **owner))


def setup(app) -> None:
    """Migrate, create platform keys, seed (idempotent)."""
    from alembic import command

    from core.cli import alembic_config
    from core.events import commit
    from core.keys import platform_keys

    Path(app.config["GGZY_INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    with app.app_context():
        command.upgrade(alembic_config(), "head")
        platform_keys().init()
        if seed_demo():
            commit()
            click.echo("demo data created")


def run_demo(*, port: int, setup_only: bool = False) -> int:
    """Run the three processes; Ctrl-C stops them all."""
    os.environ.setdefault("GGZY_ENV", "demo")
    from core.app import create_app

    app = create_app()
    if app.config["GGZY_ENV"] != "demo":
        raise click.ClickException("ggzy demo runs only with GGZY_ENV=demo")
    setup(app)
    if setup_only:
        return 0
    env = {**os.environ, "GGZY_PORT": str(port)}
    ggzy = [sys.executable, "-c", "from core.cli import main; main()"]
    procs = [
        subprocess.Popen([sys.executable, "-m", "celery", "-A", "wsgi:celery", "worker", "--pool=solo",
                          "--loglevel=WARNING"], env=env),
        subprocess.Popen(ggzy + ["scheduler"], env=env),
        subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app", "-b", f"127.0.0.1:{port}",
                          "-k", "gthread", "-w", "1", "--threads", "32", "--log-level", "warning"], env=env),
    ]
    _print_logins(port)
    return _supervise(procs)


def _print_logins(port: int) -> None:
    click.echo(f"\nggzy demo on http://127.0.0.1:{port}   (API: /api/openapi.json, docs: /api/docs)")
    click.echo(f"password for every demo user: {DEMO_PASSWORD}")
    for email, name, role, _org in USERS:
        click.echo(f"  {role:13} {email:24} {name}")
    click.echo("supervisor, admin and agency (an opening host holds a key share) sign in with a one-time code "
               "too: `ggzy demo-code EMAIL` prints it.")
    click.echo("opening hall: a demo lot's deadline is a few minutes away; when it passes, open /agency as "
               "agency@demo.ggzy (the host) and 'My bids' as bidder1@demo.ggzy; the data keys to paste are in "
               "instance/demo-bids/.  A finished opening and its signed record are on the portal already.")
    click.echo("Ctrl-C stops web, worker and scheduler.\n")


def _stop_on_signal(signum, _frame):
    """SIGTERM (``kill``, ``timeout``, a service manager) and SIGHUP (the terminal closed) stop the demo
    as Ctrl-C does; Python's default would end this process at once and orphan the three children."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _supervise(procs) -> int:
    """Wait until one process ends or the demo is stopped; then stop the others (SIGTERM, then SIGKILL
    after 10 s)."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        return next(p.returncode for p in procs if p.poll() is not None) or 1
    except KeyboardInterrupt:
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
