"""Short answers, for the operator, to the errors they can fix: a bad setting named by its
environment variable, a configuration file named with its line or key, a database that
cannot be reached (its password hidden) or is not there. Anything else is a fault of ours,
shown in one line (`--debug` shows the traceback)."""
from __future__ import annotations

from typing import Any


def explain(error: BaseException) -> str | None:
    """The operator's answer to a known error; None for anything else."""
    from pydantic import ValidationError

    from intake.campaign.register import ConfigError
    from intake.runtime.schema import DatabaseUnreachable, NoDatabase

    if isinstance(error, ValidationError) and error.title == "Settings":
        return "Invalid settings (environment or .env):\n" + "\n".join(f"  {line}" for line in settings_problems(error))
    if isinstance(error, ConfigError):
        return f"Configuration error\n{error}"
    if isinstance(error, NoDatabase):
        return (f"{error} Nothing was created. Run `cib serve` or `cib db upgrade` to make one, "
                "or set CIB_DATABASE_URL to the database the service uses.")
    if isinstance(error, DatabaseUnreachable):
        return f"{error}\nCheck CIB_DATABASE_URL and that the database server is running."
    return None


def settings_problems(error: Any) -> list[str]:
    """One line per invalid setting: its variable, the value given (never a secret's) and
    what is wrong with it."""
    from intake.runtime.settings import Settings

    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem.get("loc") else ""
        info = Settings.model_fields.get(field)
        variable = f"CIB_{field.upper()}"
        alias = getattr(info, "validation_alias", None) if info else None
        if alias is not None and getattr(alias, "choices", None):
            variable = str(alias.choices[0])
        secret = info is not None and "Secret" in str(info.annotation)
        given = "" if secret or "input" not in problem else f"={str(problem['input'])[:80]!r}"
        lines.append(f"{variable}{given}: {problem['msg']}")
    return lines
