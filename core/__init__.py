"""core: what every domain shares (DESIGN §3) — the app factory, configuration, database, identity,
roles and the one permission table, platform keys, the outbox and the signals between layers, Celery
and scheduler wiring, object storage, the legal calendar and clock, notifications, errors, base pages
and the ``ggzy`` command.  It imports no domain: domains are loaded by name from core.domains.
"""
