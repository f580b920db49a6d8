"""What the CIB team does with what arrived: verify or reject an entry, decide a place,
read the audit trail. The CLI (and the team's other tools) call `TeamDesk`."""
from intake.team.desk import DECISIONS, Done, TeamDesk

__all__ = ["DECISIONS", "Done", "TeamDesk"]
