"""What the personal-data tests share: people who write in over SMTP, and the places their
traces could be left (every row and column of every table, the SQLite files, the outbox
folder), searched the way a person's data would be recognised."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from intake.models import Base
from intake.reports.redaction import message_text
from intake.runtime.composition import Runtime, create_service
from tests.mailer import message, send


@dataclass(frozen=True)
class Person:
    address: str
    name: str
    phone: str  # as they write it in their signature
    council: str

    @property
    def traces(self) -> list[re.Pattern[str]]:
        """Their address, name and phone number, however spaced or cased."""
        digits = re.sub(r"\D", "", self.phone)
        return [
            re.compile(re.escape(self.address), re.I),
            re.compile(r"\s+".join(map(re.escape, self.name.split())), re.I),
            re.compile(r"[\s\-]*".join(digits)),
        ]

    def found_in(self, value: str) -> list[str]:
        return [p.pattern for p in self.traces if p.search(value)]

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


def submission(person: Person, *, subject: str = "PbR pathfinder", centres: int = 7) -> bytes:
    return message(
        f"""
        Council: {person.council}
        Contact name: {person.name}
        Contact role: Service Manager
        Number of children's centres: {centres}

        Kind regards,
        {person.name}
        Tel: {person.phone}
        """,
        sender=f"{person.name} <{person.address}>", subject=subject,
    )


async def write_in(runtime: Runtime, person: Person, raw: bytes) -> None:
    code, said = await send(runtime, raw, mail_from=person.address)
    assert code == 250, said


def readable(value: Any) -> str:
    """A column's value as text a person's data would show in."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return message_text(bytes(value))
    return "" if value is None else str(value)


async def every_value(runtime: Runtime) -> dict[str, list[dict[str, str]]]:
    """Every row of every table, its columns as readable text."""
    found: dict[str, list[dict[str, str]]] = {}
    async with runtime.store.reader() as unit:
        for table in Base.metadata.sorted_tables:
            rows = await unit.session.execute(text(f'SELECT * FROM "{table.name}"'))
            found[table.name] = [{k: readable(v) for k, v in row._mapping.items()} for row in rows]
    return found


def traces_in_rows(values: dict[str, list[dict[str, str]]], person: Person) -> list[str]:
    return [f"{table}.{column}: {hits}" for table, rows in values.items() for row in rows
            for column, value in row.items() if (hits := person.found_in(value))]


def sqlite_files(runtime: Runtime) -> list[Path]:
    database = runtime.store.engine.url.database
    return [Path(database), Path(database + "-wal")] if runtime.store.dialect == "sqlite" and database else []


def traces_in_files(files: list[Path], person: Person) -> list[str]:
    """In the bytes as they are on disk (a database file's text is UTF-8)."""
    found = []
    for path in files:
        if path.exists():
            content = path.read_bytes().decode("latin-1")
            found += [f"{path.name}: {hit}" for hit in person.found_in(content)]
    return found


def maildir_files(folder: Path) -> list[Path]:
    return sorted(p for sub in ("new", "cur", "tmp") if (folder / sub).is_dir() for p in (folder / sub).iterdir())


def traces_in_maildir(folder: Path, person: Person) -> list[str]:
    return [f"{path.name}: {hit}" for path in maildir_files(folder)
            for hit in person.found_in(message_text(path.read_bytes()))]


@asynccontextmanager
async def service_to_maildir(settings_factory: Callable[..., Any], clock: Any, folder: Path) -> AsyncIterator[Runtime]:
    """The service with no relay: what it sends is kept in `folder`, a Maildir."""
    runtime = create_service(settings_factory(relay_host=None, outbox_dir=folder), clock=clock)
    await runtime.start(slack=False, scheduler=False)
    try:
        yield runtime
    finally:
        await runtime.stop()
