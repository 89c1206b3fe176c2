"""``ggzy trading …``: the procedure table, the deadline catch-up, and a short demo lot."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from core.events import commit


@click.group("trading")
def cli():
    """Tenders: procedure table, closing bidding, demo lots."""


@cli.command("procedures")
def procedures_cmd():
    """Print every row of the procedure table with the article of each limit."""
    from trading import procedures

    for config in procedures.PROCEDURES.values():
        click.echo(f"{config.key}  {config.title}{'  (demo only)' if config.demo_only else ''}")
        for name, limit in config.limits().items():
            click.echo(f"  {name:18} {limit.describe():22} {limit.article}")
        click.echo(f"  {'min_bids':18} {config.min_bids.value:<22} {config.min_bids.article}")
        click.echo(f"  {'bond_max':18} {config.bond_max.value:<22} {config.bond_max.article}")


@cli.command("demo-lot")
@click.option("--agency", default="agency@demo.ggzy", show_default=True, help="e-mail of the publishing agency")
@with_appcontext
def demo_lot(agency):
    """Publish a lot under the short demo procedure (GGZY_ENV=demo only); it closes in ~8 minutes."""
    from flask import current_app
    from sqlalchemy import select

    from core.db import db
    from core.models import User
    from trading import demo

    if current_app.config["GGZY_ENV"] != "demo":
        raise click.ClickException("the short demo procedure exists only when GGZY_ENV=demo")
    user = db.session.scalar(select(User).where(User.email == agency))
    if user is None or user.role != "agency":
        raise click.ClickException(f"{agency} is not an agency user")
    lot = demo.demo_lot(actor=user)
    commit()
    click.echo(f"lot {lot.id} published; bidding closes at {lot.bid_deadline.isoformat()} (demo clock)")
