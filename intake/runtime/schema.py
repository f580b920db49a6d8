"""Schema migrations (Alembic), run on the service's own async engine."""
from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from intake.store import Store

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Several instances starting at once on a new PostgreSQL database: one migrates, the others
# wait for it and then find nothing to do (a transaction-scoped advisory lock).
MIGRATION_LOCK = 0x43494201
CONNECT_TIMEOUT = 15.0  # seconds: a database that does not answer by then is unreachable


class NoDatabase(Exception):
    """A command that only reads found no database (and made none)."""


class DatabaseUnreachable(Exception):
    """The database could not be reached or refused us."""


def shown_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL at all: show nothing of it
        return "(an unreadable database URL)"


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


async def open_database(store: Store, url: str, *, create: bool) -> None:
    """Reach the database and bring its schema up to date. `create=False` (commands that
    only read) never makes one: no SQLite file, or no schema of ours, is `NoDatabase`."""
    path = sqlite_file(url)
    if not create and path is not None and not path.exists():
        raise NoDatabase(f"There is no database at {path}.")
    try:
        revision = await asyncio.wait_for(current_revision(store), CONNECT_TIMEOUT)
    except Exception as error:  # noqa: BLE001 - refused, unknown host, bad password, timeout...
        raise DatabaseUnreachable(f"Cannot reach the database at {shown_url(url)}: {_reason(error)}") from error
    if revision is None and not create:
        raise NoDatabase(f"The database at {shown_url(url)} holds no CIB intake data.")
    await upgrade(store)


def _reason(error: BaseException) -> str:
    if isinstance(error, (TimeoutError, asyncio.TimeoutError)):
        return "no answer in time (CIB_DATABASE_CONNECT_TIMEOUT and CIB_DATABASE_STATEMENT_TIMEOUT say how long)"
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0][:300]


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


async def upgrade(store: Store, revision: str = "head") -> None:
    """Bring the database to `revision` (a no-op when it is there already)."""

    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with store.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await connection.run_sync(_upgrade)


async def current_revision(store: Store) -> str | None:
    """The schema's revision; None for a database with no schema of ours."""

    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with store.engine.connect() as connection:
        return await connection.run_sync(_current)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def revision_autogenerate(store: Store, message: str) -> None:
    def _revision(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)

    async with store.engine.begin() as connection:
        await connection.run_sync(_revision)
