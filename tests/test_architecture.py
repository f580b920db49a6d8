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


def _listed_packages() -> set[str]:
    import tomllib

    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def test_every_package_is_listed_for_the_wheel():
    # The list is explicit (config/ and templates/ are mapped into the package), so a new
    # folder of code must be added to it or the wheel would leave it out.
    found = {
        ".".join(path.relative_to(ROOT).parent.parts)
        for top in ("intake", "bot", "workspace")
        for path in (ROOT / top).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert found <= _listed_packages(), sorted(found - _listed_packages())
    assert {"intake.config", "intake.templates"} <= _listed_packages()


def test_no_two_modules_share_a_name():
    names: dict[str, list[str]] = {}
    for top in ("intake", "bot", "workspace"):
        for path in (ROOT / top).rglob("*.py"):
            if path.name not in ("__init__.py", "__main__.py", "env.py") and "versions" not in path.parts:
                names.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert not {name: paths for name, paths in names.items() if len(paths) > 1}


def test_no_function_is_longer_than_80_lines():
    import ast

    long = []
    for top in ("intake", "bot", "workspace"):
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:  # a migration declares a schema, step by step
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > 80:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not long, long
