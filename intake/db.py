"""Schema migrations (Alembic), run on the service's own async engine."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from intake.store import Store

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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
        await connection.run_sync(_upgrade)


async def revision_autogenerate(store: Store, message: str) -> None:
    def _revision(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)

    async with store.engine.begin() as connection:
        await connection.run_sync(_revision)
