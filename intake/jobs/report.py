"""What a job run did (or, dry, would do): for the CLI and the logs."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Planned:
    """One message a run would send, or sent, or found sent before."""

    kind: str
    channel: str
    recipient: str
    subject: str
    send_key: str
    about: str
    state: str  # "recorded" | "would send" | "sent before"


@dataclass
class RunReport:
    kind: str
    now: datetime
    due: list[str] = field(default_factory=list)  # slot keys / digest moment
    planned: list[Planned] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # missed by more than the grace period
    unreachable: list[str] = field(default_factory=list)  # no address known
    html: str | None = None
    text: str | None = None

    @property
    def recorded(self) -> int:
        return sum(1 for p in self.planned if p.state == "recorded")
