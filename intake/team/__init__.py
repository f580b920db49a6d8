"""What the CIB team does with what arrived: verify or reject an entry, decide a place,
answer a question, read the audit trail (`TeamDesk`); run a message again, close a draft,
accept a late entry, send again or give up on an address (`Triage`). The CLI and the
workspace call them."""
from intake.team.desk import DECISIONS, Done, TeamDesk
from intake.team.triage import Triage

__all__ = ["DECISIONS", "Done", "TeamDesk", "Triage"]
