"""The only code that talks to the database: `Store` (engines, keeping raw messages,
transactions) and, inside a transaction, a `Unit` with one repository per table."""
from intake.messages import Kept
from intake.store.engine import Timeouts, create_engine
from intake.store.keep_raw import Unkeepable
from intake.store.store import Store
from intake.store.unit import Unit

__all__ = ["Kept", "Store", "Timeouts", "Unit", "Unkeepable", "create_engine"]
