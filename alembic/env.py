"""Alembic environment for the app database.

The URL comes from, in order: a connection handed over by the caller (tests, the CLI),
``-x url=...`` on the command line, or odds_pipeline's settings (DATABASE_URL, else the
embedded server under var/, started if needed).
"""

from alembic import context
from sqlalchemy import Connection

from odds_pipeline.settings import Settings
from odds_pipeline.storage.database import app_database_url, make_engine
from odds_pipeline.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url") or app_database_url(Settings.from_env())
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or app_database_url(Settings.from_env())
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _configure_and_run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
