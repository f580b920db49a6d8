"""The migrations make the schema the models describe, indexes included, on the suite's
database (SQLite, or PostgreSQL with CIB_TEST_DATABASE_URL): a column or an index added
to a model without its migration fails here, not on an operator's first upgrade."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from intake.models import Base
from intake.runtime.schema import upgrade
from intake.store.store import Store


async def _differences(url: str) -> list[object]:
    store = Store.from_url(url)
    try:
        await upgrade(store)
        async with store.engine.connect() as connection:
            return await connection.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    finally:
        await store.close()


async def test_the_migrated_schema_is_the_models_schema(database_url):
    assert await _differences(database_url) == []


async def test_every_look_up_a_step_makes_by_message_has_an_index(database_url):
    store = Store.from_url(database_url)
    try:
        await upgrade(store)
        async with store.engine.connect() as connection:
            indexed = await connection.run_sync(
                lambda c: {(table, tuple(i["column_names"])) for table in inspect(c).get_table_names()
                           for i in inspect(c).get_indexes(table)}
            )
    finally:
        await store.close()
    for table in ("submissions", "drafts", "nominations", "enquiries", "outbound_messages", "audit"):
        assert (table, ("inbound_id",)) in indexed, table
    assert ("audit", ("reference",)) in indexed
    assert ("inbound_messages", ("channel", "received_at")) in indexed
    assert ("inbound_messages", ("sender", "received_at")) in indexed
