"""`cib`: the operator's commands. Each builds the service with `create_service` and
calls the same code the running service uses. By group: running the service
(`operating`), what it tells (`reporting`), the team's actions (`team_commands`); what they
share is in `common`.

Only what `--help` needs is imported here; each command imports the rest (the service,
the database drivers, Slack) when it runs, so help and `--version` answer at once.
"""
from __future__ import annotations

import logging
import sys

from intake.cli import operating, personal_data_commands, reporting, team_commands  # noqa: F401 - each registers its commands
from intake.cli.common import app, options, tell


def main() -> None:
    """The console entry point: known errors get a short answer on stderr (exit 2), any
    other a one-line one (exit 1); `--debug` shows the traceback. When `cib serve` logs
    JSON, the answer is a JSON record too."""
    try:
        app(prog_name="cib")
    except Exception as error:  # noqa: BLE001 - everything an operator sees is answered here
        if options["debug"]:
            raise
        from intake.cli.friendly import explain

        message = explain(error)
        if message is not None:
            tell(message, level=logging.ERROR)
            sys.exit(2)
        tell(f"Error: {type(error).__name__}: {error}\n(run `cib --debug ...` for the traceback)", level=logging.ERROR)
        sys.exit(1)

