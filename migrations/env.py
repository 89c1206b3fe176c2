"""Alembic environment: the app's own metadata and database URL (STYLE habit 9)."""
from alembic import context
from flask import current_app, has_app_context

from core.db import db


def _app():
    if has_app_context():
        return current_app._get_current_object(), None
    from core.app import create_app

    app = create_app()
    ctx = app.app_context()
    ctx.push()
    return app, ctx


#: tables other libraries own (APScheduler's job store) are not ours to migrate
FOREIGN_TABLES = {"core_apscheduler_jobs"}


def include_name(name, type_, _parent):
    """Skip tables we do not own; with ``-x prefix=trading_`` autogenerate sees one domain only
    (one concern per revision)."""
    if type_ != "table":
        return True
    prefix = context.get_x_argument(as_dictionary=True).get("prefix")
    return name not in FOREIGN_TABLES and (prefix is None or name.startswith(prefix))


def run_migrations_online() -> None:
    app, ctx = _app()
    import core.app  # noqa: F401  (models of every domain are imported by create_app)

    engine = db.engine
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                          include_name=include_name,
                          version_table="core_alembic_version")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    if ctx is not None:
        ctx.pop()


run_migrations_online()
