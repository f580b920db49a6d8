"""Every real-world email in tests/corpus/email (see tests/corpus/SOURCES.md) sent to the
running service over SMTP: each is accepted and kept byte for byte, classified, never
crashes processing, and the automatic ones among them get no reply."""
from __future__ import annotations

from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path

from intake.mail.extract import read_email
from tests.mailer import send, settle

CORPUS = Path(__file__).resolve().parent / "corpus" / "email"
FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file())


def _envelope_from(raw: bytes) -> str:
    try:
        address = parseaddr(str(BytesHeaderParser().parsebytes(raw).get("From", "")))[1]
    except Exception:  # noqa: BLE001 - a broken From header: send from a placeholder
        address = ""
    return address if "@" in address and address.isascii() else "sender@corpus.example"


def _smtp_safe(raw: bytes) -> bytes:
    # What an MTA would hand on: CRLF line endings and no line over the SMTP limit
    # (RFC 5321 §4.5.3.1.6), so the test measures us, not the client library.
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    out: list[bytes] = []
    for line in lines:
        while len(line) > 990:
            out.append(line[:990])
            line = line[990:]
        out.append(line)
    return b"\r\n".join(out)


async def test_every_corpus_email_is_kept_classified_and_answered_only_if_human(runtime, relay):
    assert len(FILES) == 241
    sent: dict[int, tuple[Path, str, bool]] = {}
    for path in FILES:
        raw = _smtp_safe(path.read_bytes())
        mail_from = _envelope_from(raw)
        code, answer = await send(runtime, raw, mail_from=mail_from, authenticated=False)
        assert code == 250, (path, answer)
        inbound_id = int(answer.rsplit(" ", 1)[1])
        automatic = read_email(raw, envelope_from=mail_from).automatic is not None
        sent.setdefault(inbound_id, (path, mail_from, automatic))
    await settle(runtime)

    async with runtime.store.reader() as unit:
        rows = {i: await unit.inbound.get(i) for i in sent}
        outbound = await unit.outbound.all()
    replied_to = {row.inbound_id for row in outbound}
    for inbound_id, (path, _, automatic) in sent.items():
        row = rows[inbound_id]
        assert row.status in ("processed", "ignored"), (path, row.status, row.detail)
        assert row.classification, path
        if automatic:
            assert row.status == "ignored" and row.classification == "automatic", path
            assert inbound_id not in replied_to, path
    # Kept byte for byte: the stored raw message is what came over the wire.
    some = next(iter(sent))
    assert rows[some].raw.replace(b"\r\n", b"\n") == _smtp_safe(sent[some][0].read_bytes()).replace(b"\r\n", b"\n")
    assert any(not automatic for _, _, automatic in sent.values())
    assert sum(automatic for _, _, automatic in sent.values()) >= 40
    assert len(replied_to) > 0
