"""What one message filed (submissions and nominations together), gathered into a
single reply: recorded, updated, still incomplete."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Receipt:
    recorded: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    incomplete: list[dict[str, Any]] = field(default_factory=list)
    nominations: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)  # waiting for the contact on record

    @property
    def kind(self) -> str:
        if self.recorded or self.updated or self.nominations:
            return "ack"
        return "held" if self.held and not self.incomplete else "missing"

    def context(self) -> dict[str, Any]:
        return {
            "recorded": self.recorded,
            "updated": self.updated,
            "incomplete": self.incomplete,
            "nominations": self.nominations,
            "held": self.held,
        }
