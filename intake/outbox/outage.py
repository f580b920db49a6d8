"""One log line per outage, not one traceback per message: the first failure of a kind
is logged as a warning, the rest quietly, and the recovery once."""
from __future__ import annotations

import logging


class Outage:
    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.log = logger
        self.what = what
        self.failing = 0  # failures since the last success

    def failed(self, error: BaseException) -> None:
        self.failing += 1
        if self.failing == 1:
            self.log.warning("%s failed (%s: %s); will keep trying", self.what, type(error).__name__, error)
        else:
            self.log.debug("%s failed again (%s)", self.what, error)

    def worked(self) -> None:
        if self.failing:
            self.log.warning("%s works again after %s failure%s", self.what, self.failing,
                             "" if self.failing == 1 else "s")
        self.failing = 0
