"""Keeping under faults, over real SMTP: a message with fields no column could hold is kept
(bounded and cleaned; its raw bytes as they came) beside other senders' messages in the
same burst; one the database refuses all the same fails no other message of its group
commit and is refused for good (554, with the reason), counted in /metrics, rather than
asked for again for ever (451); and hostile header values, drawn by hypothesis, are kept."""
from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import aiohttp
from hypothesis import strategies as st
from sqlalchemy import select, text

from intake.models import InboundMessage
from intake.store import Store, Unkeepable
from tests.fuzzing import each_example
from tests.mailer import message, send, settle

REFUSED_MARK = "UNKEEPABLE"


def _normal(n: int) -> tuple[bytes, str]:
    sender = f"officer{n}@hull.gov.uk"
    raw = message("What is the deadline for the pathfinder?", sender=sender, subject=f"Question {n}",
                  message_id=f"<question-{n}@hull.gov.uk>")
    return raw, sender


def _hostile() -> list[tuple[bytes, str]]:
    """(message, envelope sender): a Message-ID over 998 characters, a NUL in the
    Message-ID, an envelope sender over 320 characters."""
    base = "What is the deadline for the pathfinder?"
    long_id = message(base, sender="a@wigan.gov.uk", message_id="<" + "x" * 1200 + "@wigan.gov.uk>")
    nul_id = message(base, sender="b@wigan.gov.uk", message_id="<nul@wigan.gov.uk>").replace(
        b"<nul@", b"<n\x00ul@")
    long_sender = message(base, sender="c@wigan.gov.uk")
    return [(long_id, "a@wigan.gov.uk"), (nul_id, "b@wigan.gov.uk"), (long_sender, "c" * 330 + "@wigan.gov.uk")]


async def _rows(runtime) -> list[InboundMessage]:
    async with runtime.store.reader() as unit:
        return list(await unit.session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


async def test_fields_no_column_could_hold_are_kept_beside_other_senders(runtime, relay):
    hostile = _hostile()
    normal = [_normal(n) for n in range(12)]
    burst = [*hostile, *normal]
    answers = await asyncio.gather(*(send(runtime, raw, mail_from=sender) for raw, sender in burst))
    assert [code for code, _ in answers] == [250] * len(burst), answers
    await settle(runtime)
    rows = await _rows(runtime)
    assert len(rows) == len(burst)
    kept = [row for row in rows if row.subject == "Expression of interest"]  # the hostile three
    ids = [row.external_id or "" for row in kept]
    assert any(i.startswith("sha256:") for i in ids) and "<nul@wigan.gov.uk>" in ids
    assert any(b"<n\x00ul@" in row.raw for row in kept)  # the raw message as it came
    assert [row.sender for row in kept].count(None) == 1  # the overlong envelope sender is no address
    for _, sender in normal:  # everyone else is answered
        assert relay.to(sender)


async def _refuse_marked(store: Store) -> None:
    """The database refuses any message whose subject carries the mark, as PostgreSQL
    refuses text it cannot hold (a trigger: what it refuses is up to the test)."""
    if store.dialect == "postgresql":
        statements = [
            ("CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
             f"IF NEW.subject LIKE '%{REFUSED_MARK}%' THEN "
             "RAISE EXCEPTION 'invalid byte sequence' USING ERRCODE = '22021'; END IF; RETURN NEW; END $$"),
            ("CREATE TRIGGER refuse_marked BEFORE INSERT ON inbound_messages "
             "FOR EACH ROW EXECUTE FUNCTION refuse_marked()"),
        ]
    else:
        statements = [
            ("CREATE TRIGGER refuse_marked BEFORE INSERT ON inbound_messages "
             f"WHEN NEW.subject LIKE '%{REFUSED_MARK}%' BEGIN SELECT RAISE(ABORT, 'refused'); END"),
        ]
    async with store.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


async def _metric(runtime, name: str) -> str:
    url = f"http://127.0.0.1:{runtime.http_port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.text()
    return "\n".join(line for line in body.splitlines() if line.startswith(name))


async def test_a_message_the_database_refuses_is_refused_for_good_and_fails_no_other(runtime, relay):
    await _refuse_marked(runtime.store)
    refused = message("Hello", sender="x@wigan.gov.uk", subject=f"{REFUSED_MARK} please",
                      message_id="<refused@wigan.gov.uk>")
    normal = [_normal(n) for n in range(20)]
    # Its sender tries again, as a server does after a 4xx, each time among the others.
    burst = [*normal[:10], *[(refused, "x@wigan.gov.uk")] * 3, *normal[10:]]
    random.Random(23).shuffle(burst)
    answers = await asyncio.gather(*(send(runtime, raw, mail_from=sender) for raw, sender in burst))
    by_sender: dict[str, list[tuple[int, str]]] = {sender: [] for _, sender in burst}
    for (_, sender), answer in zip(burst, answers, strict=True):
        by_sender[sender].append(answer)
    assert all(code == 250 for s, got in by_sender.items() if s != "x@wigan.gov.uk" for code, _ in got), answers
    for code, reply in by_sender["x@wigan.gov.uk"]:
        assert code == 554 and "cannot be kept" in reply and "database refused" in reply
    await settle(runtime)
    assert all(relay.to(sender) for _, sender in normal)
    assert not [row for row in await _rows(runtime) if REFUSED_MARK in row.subject]
    assert await _metric(runtime, "cib_messages_refused_total") == 'cib_messages_refused_total{channel="email"} 3.0'


def _keep(store: Store, external_id: str, subject: str = "EOI"):
    return store.keep_inbound(channel="email", external_id=external_id, sender="a@camden.gov.uk", subject=subject,
                              raw=b"Subject: x\r\n\r\nx", meta={"note": "x\x00y", "n": float("nan")},
                              received_at=datetime(2027, 5, 1, 9, tzinfo=UTC))


async def test_one_refused_message_in_a_group_commit_fails_no_other(database_url):
    store = Store.from_url(database_url)
    await store.create_all()
    await _refuse_marked(store)
    try:
        # Arriving together, they are one group commit: the refused one fails it, and alone.
        results = await asyncio.gather(*(_keep(store, f"<m{n}@camden.gov.uk>") for n in range(5)),
                                       _keep(store, "<r@camden.gov.uk>", REFUSED_MARK),
                                       *(_keep(store, f"<m{n}@camden.gov.uk>") for n in range(5, 10)),
                                       return_exceptions=True)
        refused = results[5]
        assert isinstance(refused, Unkeepable), refused
        assert refused.reason.endswith(("(SQLSTATE 22021)", "(IntegrityError)")), refused.reason
        others = results[:5] + results[6:]
        assert not any(isinstance(r, BaseException) for r in others), others
        async with store.reader() as unit:
            assert len(await unit.inbound.ids()) == 10
        assert store.refused == {"email": 1}
    finally:
        await store.close()


async def test_an_id_too_big_for_the_index_is_kept_by_its_hash(database_url):
    store = Store.from_url(database_url)
    await store.create_all()
    try:
        # 952 characters, 2,850 bytes of UTF-8, hardly compressible: more than PostgreSQL's
        # index takes in an entry.
        big_id = "<" + "".join(chr(random.Random(n).randrange(0x4E00, 0x9FFF)) for n in range(950)) + ">"
        results = await asyncio.gather(*(_keep(store, f"<m{n}@camden.gov.uk>") for n in range(5)),
                                       _keep(store, big_id), return_exceptions=True)
        assert not any(isinstance(r, BaseException) for r in results), results
        async with store.reader() as unit:
            row = await unit.inbound.get(results[-1].id)
            assert row.external_id.startswith("sha256:") and row.meta == {"note": "xy", "n": None}
        assert (await _keep(store, big_id)).duplicate  # the same message again is recognised
    finally:
        await store.close()


async def test_a_database_that_is_away_is_no_fault_of_the_messages(runtime):
    """Lone commits failing for the database's own state: 451 (try again), not 554, and
    nothing counted as refused."""
    async with runtime.store.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE inbound_messages RENAME TO inbound_away"))
    try:
        answers = await asyncio.gather(*(send(runtime, raw, mail_from=s) for raw, s in map(_normal, range(4))))
        assert {code for code, _ in answers} == {451}
        assert runtime.store.refused == {}
    finally:
        async with runtime.store.engine.begin() as connection:
            await connection.execute(text("ALTER TABLE inbound_away RENAME TO inbound_messages"))


# --- hostile header values, drawn by hypothesis --------------------------------------------

header_values = st.one_of(
    st.binary(max_size=1200),
    st.text(max_size=300).map(lambda value: value.encode("utf-8", "surrogatepass")),
    st.integers(900, 2500).map(lambda n: b"x" * n),  # longer than a line, and than the column
    st.integers(200, 700).map(lambda n: "\U0001f4a9".encode() * n),  # more bytes than characters
    st.sampled_from([b"\x00", b"a\x00b", b"\xff\xfe\x00", b"=?utf-8?b?AA==?=", b"=?utf-8?q?=00?=", b"\x1b[31m",
                     b"NaN", b"\xed\xa0\x80", b"<a\x00@b>", b"\x7f\x80\x9f"]),
)
headers = st.fixed_dictionaries({
    "Message-ID": header_values, "Subject": header_values, "From": header_values, "X-Anything": header_values,
})


def _with_headers(values: dict[str, bytes]) -> bytes:
    lines = [name.encode() + b": " + value.replace(b"\r", b"").replace(b"\n", b" ") for name, value in values.items()]
    return b"\r\n".join([*lines, b"To: eoi@cib.test"]) + b"\r\n\r\nWhat is the deadline for the pathfinder?\r\n"


async def test_hostile_header_values_are_kept_beside_a_normal_message(runtime):
    numbers = iter(range(10**6))

    async def check(values: dict[str, bytes]) -> None:
        raw, sender = _normal(next(numbers))
        hostile, plain = await asyncio.gather(send(runtime, _with_headers(values), mail_from="j@wigan.gov.uk"),
                                              send(runtime, raw, mail_from=sender))
        assert hostile[0] == 250 and plain[0] == 250, (values, hostile, plain)
        assert "kept as" in hostile[1] and "kept as" in plain[1]

    await each_example(headers, check, examples=30)
    assert runtime.store.refused == {}
