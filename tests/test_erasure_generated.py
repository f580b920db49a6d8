"""Erasure under generated data: several generated people at different councils each send
an expression of interest over SMTP (some a question too, some naming a colleague's
phone number); erasing one of them leaves every trace of the others as it was (their
messages byte for byte, their entries, what was sent to them, the audit trail about them)
and none of the erased person's, while every entry is still counted."""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st
from sqlalchemy import delete

from intake.models import Base
from tests.fuzzing import each_example
from tests.mailer import message, settle
from tests.personal_data_support import (
    Person,
    every_value,
    submission,
    traces_in_rows,
    write_in,
)

COUNCILS = [
    ("bury.gov.uk", "Bury Metropolitan Borough Council"), ("camden.gov.uk", "London Borough of Camden"),
    ("leeds.gov.uk", "Leeds City Council"), ("york.gov.uk", "City of York Council"),
    ("kent.gov.uk", "Kent County Council"), ("bristol.gov.uk", "Bristol City Council"),
]
FIRST = ["Ada", "Bilal", "Chloe", "Deepa", "Emeka", "Fiona", "Gareth", "Hana", "Imran", "Joan"]
LAST = ["Okafor", "Whitfield", "Nakamura", "Pemberton", "Quigley", "Rosenthal", "Szabo", "Tremayne"]


@dataclass(frozen=True)
class Case:
    people: tuple[Person, ...]
    asks: tuple[bool, ...]  # whether each also sends a question (with their phone number)
    erased: int


@st.composite
def cases(draw: st.DrawFn) -> Case:
    size = draw(st.integers(2, 4))
    councils = draw(st.permutations(COUNCILS))[:size]
    names = draw(st.lists(st.tuples(st.sampled_from(FIRST), st.sampled_from(LAST)), min_size=size, max_size=size,
                          unique_by=(lambda n: n[0], lambda n: n[1])))
    numbers = draw(st.lists(st.integers(0, 999), min_size=size, max_size=size, unique=True))
    people = tuple(
        Person(f"{first.lower()}.{last.lower()}@{domain}", f"{first} {last}", f"0161 496 0{number:03d}", council)
        for (first, last), (domain, council), number in zip(names, councils, numbers, strict=True)
    )
    return Case(people, tuple(draw(st.lists(st.booleans(), min_size=size, max_size=size))),
                draw(st.integers(0, size - 1)))


async def _wipe(runtime) -> None:
    """An empty database for the next example (the service keeps running)."""
    async with runtime.store.unit() as unit:
        for table in reversed(Base.metadata.sorted_tables):
            await unit.session.execute(delete(table))


def _theirs(values: dict[str, list[dict[str, str]]], person: Person) -> dict[str, list[dict[str, str]]]:
    return {table: [row for row in rows if person.found_in(" ".join(row.values()))] for table, rows in values.items()}


async def test_erasing_one_generated_person_leaves_the_others_intact(runtime):
    async def check(case: Case) -> None:
        await _wipe(runtime)
        for person, asks in zip(case.people, case.asks, strict=True):
            await write_in(runtime, person, submission(person))
            if asks:
                await write_in(runtime, person, message(f"Please call me on {person.phone}.",
                                                        sender=person.address, subject="A question"))
            await settle(runtime)
        gone = case.people[case.erased]
        others = [p for p in case.people if p is not gone]
        values = await every_value(runtime)
        held = {p.address: _theirs(values, p) for p in others}
        entries = len((await runtime.service.export())["submissions"])

        erased = await runtime.personal.erase(gone.address, actor="team@local.gov.uk", reason="asked")
        assert erased.ok and erased.entries, erased.message

        values = await every_value(runtime)
        assert traces_in_rows(values, gone) == []
        for person in others:
            assert _theirs(values, person) == held[person.address], person
        assert len((await runtime.service.export())["submissions"]) == entries

    await each_example(cases(), check, examples=6, timeout=120)
