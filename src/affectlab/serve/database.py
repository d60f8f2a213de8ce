"""The service's database: one SQLAlchemy engine per URL, schema managed by Alembic.

SQLite runs in WAL mode (readers never block the writer; a committed transaction survives a
killed process) with ``synchronous=NORMAL``; PostgreSQL is reached through psycopg 3
(``postgresql+psycopg://...``), and several servers may share it. ``migrate`` brings any
database to the current schema (``alembic upgrade head``) before the service uses it.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from ..errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):  # the plain scheme picks psycopg2; psycopg 3 is what we ship with
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    try:
        engine = create_engine(url, pool_pre_ping=True, future=True)
    except Exception as error:  # a malformed URL or a driver that is not installed
        raise ConfigError(f"cannot use database URL {url!r}: {error}") from None
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
    return engine


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
