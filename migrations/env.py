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
    return not (type_ == "table" and name in FOREIGN_TABLES)


def include_object(obj, name, type_, _reflected, _compare_to):
    """With ``-x prefix=trading_`` autogenerate looks at one domain's tables only, on both the model
    and the database side (one concern per revision)."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    if table in FOREIGN_TABLES:
        return False
    prefix = context.get_x_argument(as_dictionary=True).get("prefix")
    return prefix is None or table is None or table.startswith(prefix)


def run_migrations_online() -> None:
    app, ctx = _app()
    import core.app  # noqa: F401  (models of every domain are imported by create_app)

    engine = db.engine
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                          include_name=include_name, include_object=include_object,
                          version_table="core_alembic_version")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    if ctx is not None:
        ctx.pop()


run_migrations_online()
