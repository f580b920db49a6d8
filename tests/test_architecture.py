"""The shape of the code, as pyproject.toml's import contracts state it: only the
composition root imports the Slack channel, the core does not import the email channel,
parsing and the domain rules import nothing that does I/O, no import cycles."""
from __future__ import annotations

from pathlib import Path

from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold(monkeypatch):
    monkeypatch.chdir(ROOT)
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert status == EXIT_STATUS_SUCCESS
