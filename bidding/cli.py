"""``ggzy bidding …``: the platform side of bidding (what the scheduler does, run by hand).

The bidder's and custodians' commands, ``ggzy bid …``, are the bidder tool's (bidding/tool/cli.py):
they run on a bidder's machine without the app or the database.  ``GROUPS`` lists both for core's
``ggzy`` command.
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from bidding.tool.cli import cli as bid


@click.group(name="bidding")
def cli():
    """Bidding on the platform: the close at the deadline."""


@cli.command("close-due")
@with_appcontext
def close_due():
    """Close bidding now on every published lot past its deadline (what the scheduler does): a lot
    with fewer than the procedure's minimum of bids fails (招标投标法实施条例 第四十四条)."""
    from bidding import services
    from core.events import commit

    outcomes = services.close_due_lots()
    commit()
    for lot_id, outcome in outcomes.items():
        click.echo(f"lot {lot_id}: {outcome}")
    click.echo(f"{len(outcomes)} lot(s) past the deadline")


#: the command groups core's ``ggzy`` adds for this domain
GROUPS = (cli, bid)
