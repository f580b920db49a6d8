"""How the service's log lines look: text, or one JSON object per line for a log collector
(CIB_LOG_FORMAT=json). Either way each line's time is RFC 3339 with its zone (UTC), so
lines from several hosts sort and parse alike."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

# aiosmtpd logs every SMTP command at INFO, and APScheduler every job it runs: a line per
# command or run is noise (about 5,800 a day); their warnings and errors still show.
CHATTY = ("mail.log", "apscheduler", "slack_bolt", "slack_sdk", "alembic.runtime.plugins")


def rfc3339(created: float) -> str:
    return datetime.fromtimestamp(created, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextLines(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return rfc3339(record.created)


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    class JsonLines(JsonFormatter):
        def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
            return rfc3339(record.created)

    return JsonLines("%(asctime)s %(levelname)s %(name)s %(message)s",
                     rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})


def configure_logging(*, json: bool, level: str = "INFO") -> None:
    """Every record to stderr in the chosen form; with JSON, Python's warnings too, so
    nothing the process writes is a plain line."""
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter() if json else TextLines("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.captureWarnings(json)
    if level.upper() != "DEBUG":
        for name in CHATTY:
            logging.getLogger(name).setLevel(logging.WARNING)
