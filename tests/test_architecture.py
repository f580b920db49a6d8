"""The shape of the code, as pyproject.toml's import contracts state it: only the
composition root imports the Slack channel, the core does not import the email channel,
parsing and the domain rules import nothing that does I/O, no import cycles."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold():
    # In a process of its own: import-linter configures logging as it starts.
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
         "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
