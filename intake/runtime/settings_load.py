"""Loading the settings for `cib check` and `cib serve`, the one way both refuse them: every
invalid value, and every CIB_* variable that is no setting (a misspelt CIB_SMTP_PROT would
otherwise leave the port at its default without a word), one line each naming the
variable, what is wrong and what to do."""
from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from intake.runtime.settings import Settings

PREFIX = "CIB_"
# Read by the test suite, not by the service: not a misspelt setting.
NOT_SETTINGS = frozenset({"CIB_TEST_DATABASE_URL", "CIB_FUZZ_EXAMPLES", "CIB_SCREENSHOTS"})


class SettingsRefused(Exception):
    """The settings cannot be used; `lines` say why, one problem each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from the environment and .env, or SettingsRefused listing every problem."""
    environ = os.environ if environ is None else environ
    unknown = unknown_variables([*environ, *dotenv_names()])
    try:
        settings = Settings()
    except ValidationError as error:
        raise SettingsRefused(settings_problems(error) + unknown) from error
    if unknown:
        raise SettingsRefused(unknown)
    return settings


def variable(field: str) -> str:
    """The variable a setting is named by in messages (Slack's own names for its tokens)."""
    info = Settings.model_fields[field]
    choices = getattr(info.validation_alias, "choices", None)
    return str(choices[0]) if choices else f"{PREFIX}{field.upper()}"


def variable_names() -> dict[str, str]:
    """Every variable a setting is read from (upper case) -> the one to name it by."""
    names: dict[str, str] = {}
    for field, info in Settings.model_fields.items():
        choices = getattr(info.validation_alias, "choices", None)
        for alias in [str(choice) for choice in choices] if choices else [variable(field)]:
            names[alias.upper()] = variable(field)
    return names


def unknown_variables(names: list[str]) -> list[str]:
    """A line for each CIB_* name that is no setting, with the closest one that is."""
    known = variable_names()
    lines = []
    for name in sorted({name.upper() for name in names}):
        if not name.startswith(PREFIX) or name in known or name in NOT_SETTINGS:
            continue
        close = difflib.get_close_matches(name, [k for k in known if k.startswith(PREFIX)], n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "see config/settings.example.env for the settings there are"
        lines.append(f"{name}: there is no such setting; {hint}")
    return lines


def dotenv_names() -> list[str]:
    return list(_dotenv())


def raw_setting(field: str) -> str | None:
    """A setting as given (the environment, else .env), before it is checked: how to speak
    while the settings may yet be refused."""
    name = f"{PREFIX}{field.upper()}"
    for source in (os.environ, _dotenv()):
        for key, value in source.items():
            if key.upper() == name and value is not None:
                return value.strip().lower()
    return None


def _dotenv() -> dict[str, str | None]:
    """The variables set in the .env file the settings read (none if it is not there)."""
    from dotenv import dotenv_values

    path = Path(str(Settings.model_config.get("env_file") or ".env"))
    return dict(dotenv_values(path)) if path.is_file() else {}


def settings_problems(error: Any) -> list[str]:
    """One line per invalid setting: its variable, the value given (never a secret's, a
    database URL's password hidden) and what is wrong with it."""
    fields = {name: field for field in Settings.model_fields for name in (field.upper(), variable(field).upper())}
    lines = []
    for problem in error.errors():
        # Located by field name, or by the alias it was read from (SLACK_BOT_TOKEN).
        located = str(problem["loc"][0]) if problem.get("loc") else ""
        field = fields.get(located.upper(), "")
        name = variable(field) if field else located.upper()
        # Only a known field that is no secret shows the value it was given.
        shown = field and "Secret" not in str(Settings.model_fields[field].annotation) \
            and problem.get("input") is not None  # None: a default checked against others, not given
        given = f"={_shown(field, problem['input'])!r}" if shown else ""
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"{name}{given}: {message}")
    return lines


def _shown(field: str, value: object) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if field == "database_url":
        from intake.runtime.schema import shown_url

        return shown_url(text)
    return text[:80]
