"""The platform's domains, in their layers from the bottom up (DESIGN §3).

The one list every loader reads (the app factory's blueprints and registrations, the ``ggzy``
command groups, the demo seeders, the permission matrix test).  A domain imports only those before
it and learns of those after it through events; the import-linter contracts in pyproject.toml hold
the same order.
"""
from __future__ import annotations

#: bottom to top; ``core`` is below all of them
DOMAINS: tuple[str, ...] = ("archive", "trading", "experts", "bidding", "monitoring")
#: ``core`` and the domains, bottom to top: what the app factory loads
PACKAGES: tuple[str, ...] = ("core", *DOMAINS)
