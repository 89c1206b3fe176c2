"""The ``ggzy`` command group (DESIGN §3 canonical commands).

Domain groups (``ggzy bid``, ``ggzy bidding``, ``ggzy experts``, ``ggzy archive``, ``ggzy monitoring``)
live in each domain's ``cli.py`` as a click group named ``cli`` (or several, listed in ``GROUPS``) and
are added here.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

ROOT = Path(__file__).resolve().parent.parent


def _create_app():
    from core.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def root():
    """ggzy — public resource trading platform (公共资源交易电子平台)."""


def main() -> None:
    """Console entry point."""
    _add_domain_groups()
    root(prog_name="ggzy")


def _add_domain_groups() -> None:
    from core.domains import DOMAINS

    for domain in DOMAINS:
        name = f"{domain}.cli"
        if importlib.util.find_spec(name):
            module = importlib.import_module(name)
            for group in getattr(module, "GROUPS", (module.cli,)):
                root.add_command(group)


# --- database ---------------------------------------------------------------------------------

@root.group()
def db():
    """Database schema (Alembic)."""


def alembic_config():
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return cfg


@db.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision):
    """Apply migrations up to REVISION (default: head)."""
    from alembic import command

    Path(current_app.config["GGZY_INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(), revision)
    click.echo(f"database at {revision}")


# --- keys -------------------------------------------------------------------------------------

@root.group()
def keys():
    """Platform keys in GGZY_KEY_DIR."""


@keys.command("init")
@with_appcontext
def keys_init():
    """Create the platform's signing and encryption keys if absent."""
    from core.keys import platform_keys

    manifest = platform_keys().init()
    click.echo(f"platform signing key {manifest['current']} in {current_app.config['GGZY_KEY_DIR']}")


@keys.command("rotate")
@with_appcontext
def keys_rotate():
    """Start a new signing key; old public keys stay verifiable."""
    from core.keys import platform_keys

    click.echo(f"current signing key: {platform_keys().rotate()['current']}")


@keys.command("list")
@with_appcontext
def keys_list():
    """Show the platform's public keys."""
    from core.keys import platform_keys

    manifest = platform_keys().manifest()
    for entry in manifest["signing"]:
        mark = "current" if entry["kid"] == manifest["current"] else f"retired {entry.get('retired_at', '')}"
        click.echo(f"{entry['kid']}  {entry['public_key']}  {mark}")
    click.echo(f"{manifest['encryption']['kid']}  {manifest['encryption']['public_key']}  encryption")


# --- processes --------------------------------------------------------------------------------

@root.command("worker")
@click.option("--concurrency", default=2, show_default=True)
@click.option("--pool", default="prefork", show_default=True)
def worker(concurrency, pool):
    """Run a Celery worker for this app."""
    os.execvp(sys.executable, [sys.executable, "-m", "celery", "-A", "wsgi:celery", "worker",
                               "--loglevel=INFO", f"--concurrency={concurrency}", f"--pool={pool}"])


@root.command("scheduler")
@with_appcontext
def scheduler():
    """Run the one scheduler process (waits for the lease if another holds it)."""
    import signal
    import threading

    from core.scheduler import run_forever

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run_forever(current_app._get_current_object(), stop)
    except KeyboardInterrupt:
        stop.set()


@root.command("run")
@click.option("--port", type=int, default=None, help="default GGZY_PORT or 5000")
@click.option("--workers", default=2, show_default=True)
@click.option("--threads", default=8, show_default=True)
def run(port, workers, threads):
    """Serve the web app with gunicorn (gthread workers, fit for the live pages)."""
    port = port or int(os.environ.get("GGZY_PORT", 5000))
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "wsgi:app", "-b", f"127.0.0.1:{port}",
                               "-k", "gthread", "-w", str(workers), "--threads", str(threads),
                               "--access-logfile", "-"])


@root.command("demo")
@click.option("--port", type=int, default=None, help="default PORT, GGZY_PORT or 5000")
@click.option("--setup-only", is_flag=True, help="migrate and seed, then exit")
def demo(port, setup_only):
    """Set up the demo (migrate, keys, seed data) and run web + worker + scheduler."""
    from core.demo import run_demo

    port = port or int(os.environ.get("PORT") or os.environ.get("GGZY_PORT") or 5000)
    sys.exit(run_demo(port=port, setup_only=setup_only))


@root.command("shell")
@with_appcontext
def shell():
    """An interactive Python shell in the app context."""
    import code

    code.interact(local={"app": current_app._get_current_object()})


@root.command("advance-clock")
@click.argument("hours", type=float)
@with_appcontext
def advance_clock(hours):
    """Move the demo clock forward by HOURS (demo only)."""
    from core.clock import advance_demo_clock
    from core.events import commit

    moment = advance_demo_clock(hours * 3600)
    commit()
    click.echo(f"demo time is now {moment.isoformat()}")


@root.group()
def events():
    """The outbox: self-test and re-dispatch."""


@events.command("ping")
@click.option("--timeout", default=30.0, show_default=True)
@with_appcontext
def events_ping(timeout):
    """Record a self-test event and wait until a worker has handled it (web → broker → worker)."""
    import time

    from core import events as ev
    from core.db import db

    row = ev.record("core.selftest", {"sent_by": "ggzy events ping"})
    ev.commit()
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        db.session.expire_all()
        if db.session.get(ev.OutboxEvent, row.id).completed_at is not None:
            click.echo(f"handled in {time.monotonic() - started:.2f} s")
            return
        time.sleep(0.2)
    raise click.ClickException(f"event {row.event_id} not handled within {timeout} s; is a worker running?")


@events.command("sweep")
@click.option("--grace", default=0.0, show_default=True, help="seconds an event may wait unhandled")
@with_appcontext
def events_sweep(grace):
    """Re-dispatch events some handler has not acknowledged."""
    from core.events import sweep

    click.echo(f"re-dispatched {sweep(grace_seconds=grace)} deliveries")


@root.command("demo-code")
@click.argument("email")
@with_appcontext
def demo_code(email):
    """Print the current one-time code of a demo user (demo installs only)."""
    import pyotp
    from sqlalchemy import select

    from core.clock import now
    from core.db import db as database
    from core.models import User

    if current_app.config["GGZY_ENV"] != "demo":
        raise click.ClickException("demo-code exists only in the demo (GGZY_ENV=demo)")
    user = database.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.totp_secret:
        raise click.ClickException(f"{email} has no second factor enrolled")
    click.echo(pyotp.TOTP(user.totp_secret).at(now()))


@root.command("holidays")
def holidays():
    """Show which years the legal holiday table covers (GGZY_HOLIDAYS_FILE adds years)."""
    from core.holidays import load_default

    table = load_default()
    click.echo("covered years: " + ", ".join(str(y) for y in sorted(table.years)))


@root.group()
def users():
    """Accounts: operator actions that are audited."""


@users.command("reset-totp")
@click.argument("email")
@click.option("--by", required=True, help="who resets it and why (kept in the audit row)")
@with_appcontext
def users_reset_totp(email, by):
    """Clear a user's second factor (lost phone, enrolment nobody expected); ends the user's sessions
    and tokens.  The next sign-in enrols again."""
    from sqlalchemy import select

    from core import second_factor
    from core.db import db as database
    from core.events import commit
    from core.models import User

    user = database.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no account {email}")
    second_factor.reset_totp(user=user, by=f"cli: {by}")
    commit()
    click.echo(f"second factor of {user.email} reset; every session and token of the user ended")
