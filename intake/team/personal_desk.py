"""The team's answers to a person's request about their data, by address: what is held
(`find`), a copy of it (`export`, a ZIP), and its erasure (`erase`). The CLI
(`cib personal-data`) and the workspace call them; export and erasure are audited, the
erasure's record saying when, by whom and why, never about whom.

An erasure is one transaction (run with SQLite's secure_delete), then made final in the
files (`intake/store/secure_erase.py`) and in the local outbox folder when mail goes to
one. What to remove is planned by `intake/reports/erasure_plan.py`."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path

from intake.campaign.definition import Campaign
from intake.campaign.register import CouncilRegister
from intake.models import Nomination, Submission
from intake.outbox.maildir_files import Reworked, rework
from intake.reports.erasure_plan import ErasurePlan, plan_erasure
from intake.reports.personal_export import entry_records, export_zip
from intake.reports.personal_holdings import (
    SCANNED,
    Gathered,
    Holdings,
    holdings,
    identifiers_of,
    mention_test,
)
from intake.reports.redaction import Identifiers, message_text, scrub_raw
from intake.store import Store, Unit
from intake.store.personal_rows import key_of
from intake.store.secure_erase import Settled, settle


@dataclass(frozen=True)
class Erased:
    """What an erasure did, in words for the team, and in numbers."""

    ok: bool
    message: str
    entries: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    settled: Settled | None = None
    outbox: Reworked | None = None
    told: bool = False  # nobody is written to about an erasure


def address_of(text: str) -> str | None:
    """The address asked about, as the database holds addresses; None if it is not one."""
    address = text.strip().lower()
    local, at, domain = address.partition("@")
    if not at or not local or not domain or any(c.isspace() for c in address) or len(address) > 320:
        return None
    return address


async def gather(unit: Unit, address: str) -> Gathered:
    """The rows naming the address, then every other row mentioning what ties to it."""
    direct = await unit.personal.direct(address)
    gathered = Gathered(direct, identifiers_of(direct))
    for model in SCANNED:
        skip = {key_of(row) for row in direct.of(model)}
        gathered.mentions[model] = await unit.personal.scan(model, mention_test(model, gathered.who), skip=skip)
    return gathered


class PersonalDesk:
    def __init__(
        self, store: Store, campaign: Campaign, councils: CouncilRegister, *, clock: Callable[[], datetime],
        outbox_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.campaign = campaign
        self.councils = councils
        self.clock = clock
        self.outbox_dir = outbox_dir  # the local Maildir, when mail goes to one

    async def find(self, address: str) -> Holdings:
        async with self.store.reader() as unit:
            return holdings(await gather(unit, address), self.campaign, self.councils)

    async def export(self, address: str, *, actor: str) -> tuple[Holdings, bytes]:
        """The subject-access ZIP (`intake/reports/personal_export.py`); the audit trail
        records that an export was made, and by whom."""
        now = self.clock()
        async with self.store.reader() as unit:
            gathered = await gather(unit, address)
        held = holdings(gathered, self.campaign, self.councils)
        direct = gathered.direct  # their own entries (as contact, nominee or sender) and what we sent them
        records = entry_records(direct.submissions, direct.nominations, self.councils)
        content = await asyncio.to_thread(export_zip, held, self.campaign, records=records, sent=gathered.sent(),
                                          replies=direct.outbound, made_at=now)
        async with self.store.unit() as unit:
            unit.audit.record(at=now, actor=actor, action="exported", entity="person", entity_id=None,
                              detail={"by": "the CIB team", "entries": sorted({e["reference"] for e in held.entries})})
        return held, content

    async def erase(self, address: str, *, actor: str, reason: str) -> Erased:
        if not reason.strip():
            return Erased(False, "Say why the data is being erased: the audit trail records the reason.")
        now = self.clock()
        async with self.store.unit() as unit:
            await unit.personal.secure_delete(True)
            gathered = await gather(unit, address)
            plan = plan_erasure(gathered, self.campaign)
            if plan.delete or plan.rewrite:
                await unit.personal.apply(delete_rows=plan.delete, rewrite=plan.rewrite)
                self._record(unit, gathered, plan, now=now, actor=actor, reason=reason)
            await unit.personal.secure_delete(False)
        who = gathered.who
        settled = await settle(self.store, plan.searched_for(who).byte_patterns(), tables=plan.tables) \
            if plan.delete or plan.rewrite else None
        outbox = await asyncio.to_thread(self._outbox, who) if self.outbox_dir is not None else None
        if not plan.delete and not plan.rewrite and not (outbox and (outbox.removed or outbox.rewritten)):
            return Erased(True, "Nothing is held about that address; nothing was changed.", outbox=outbox)
        counted = f" ({', '.join(plan.entries)} still counted, marked erased)" if plan.entries else ""
        return Erased(True, f"The person's data is erased{counted}.", plan.entries, plan.counts(), settled, outbox)

    def _record(self, unit: Unit, gathered: Gathered, plan: ErasurePlan, *, now: datetime, actor: str,
                reason: str) -> None:
        """The erasure in the audit trail: once for the person (no address, no name), and
        on each entry's own trail."""
        why = gathered.who.replace(reason.strip())
        removed = "; ".join(f"{what}: {n}" for what, n in sorted(plan.counts().items()))
        unit.audit.record(at=now, actor=actor, action="erased", entity="person", entity_id=None,
                          detail={"by": "the CIB team", "reason": why, "entries": plan.entries, "removed": removed})
        rows = {r.reference: r for r in [*gathered.direct.submissions, *gathered.direct.nominations,
                                          *gathered.mentioning(Submission), *gathered.mentioning(Nomination)]}
        for reference in plan.entries:
            row = rows[reference]
            unit.audit.record(at=now, actor=actor, action="erased",
                              entity="submission" if isinstance(row, Submission) else "nomination",
                              entity_id=row.id, reference=reference, detail={"by": "the CIB team", "reason": why})

    def _outbox(self, who: Identifiers) -> Reworked:
        """Copies in the local outbox: those to them go, others have them taken out."""
        assert self.outbox_dir is not None

        def decide(content: bytes, _modified: datetime) -> bytes | None:
            if not who.found_in(message_text(content)):
                return content
            headers = BytesHeaderParser().parsebytes(content)
            recipients = {a.lower() for _, a in getaddresses([str(headers.get(h, "")) for h in ("To", "Cc")])}
            return None if who.address in recipients else scrub_raw(content, who)

        return rework(self.outbox_dir, decide)
