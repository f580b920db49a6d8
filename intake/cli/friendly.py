"""Short answers, for the operator, to the errors they can fix: a bad setting named by its
environment variable, a configuration file named with its line or key, a port or database
the service cannot use, named by its setting (a database's password hidden), a database
that is not there. Anything else is a fault of ours, shown in one line (`--debug` shows the
traceback)."""
from __future__ import annotations

SETTINGS = "Invalid settings (environment or .env):"


def explain(error: BaseException) -> str | None:
    """The operator's answer to a known error; None for anything else."""
    from pydantic import ValidationError

    from intake.campaign.register import ConfigError
    from intake.runtime.listeners import StartupRefused
    from intake.runtime.schema import DatabaseUnreachable, NoDatabase
    from intake.runtime.settings_load import SettingsRefused, settings_problems

    if isinstance(error, SettingsRefused):
        return "\n".join([SETTINGS, *(f"  {line}" for line in error.lines)])
    if isinstance(error, ValidationError) and error.title == "Settings":
        return "\n".join([SETTINGS, *(f"  {line}" for line in settings_problems(error))])
    if isinstance(error, StartupRefused):
        return f"Cannot start: {error}"
    if isinstance(error, ConfigError):
        return f"Configuration error\n{error}"
    if isinstance(error, NoDatabase):
        return (f"{error} Nothing was created. Run `cib serve` or `cib db upgrade` to make one, "
                "or set CIB_DATABASE_URL to the database the service uses.")
    if isinstance(error, DatabaseUnreachable):
        return f"{str(error).rstrip('.')}. Check CIB_DATABASE_URL and that the database server is running."
    return None
