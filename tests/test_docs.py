"""The documentation holds to the repository: every relative link in the README and in
docs/ reaches a file (and a heading, for `#anchor` links, by GitHub's slugs); every
repository path a page names in code resolves; the settings table in docs/operations.md
names every setting's environment variable; and every `CIB_...` name a page mentions is a
real one. Pure reading of files: no service is started."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import AliasChoices

from intake.runtime.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# The pages for people: the README and one page per audience.
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
# Pages whose paths and variables are checked too: the register's provenance.
CHECKED = [*PAGES, ROOT / "config" / "councils_SOURCES.md", ROOT / "config" / "sources" / "README.md"]
# Top-level folders a run leaves behind, which the documentation never names.
LEFT_BEHIND = {"build", "dist", "node_modules", "outbox", "__pycache__"}

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")
LINK = re.compile(r"!?\[(?P<text>[^\]]*)\]\((?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")
VARIABLE = re.compile(r"(?<![A-Za-z0-9_])(?:CIB|SLACK)_[A-Z0-9_]*[A-Z0-9]")


# --- reading Markdown ------------------------------------------------------------------------


def split_fences(text: str) -> tuple[list[str], list[str]]:
    """(prose lines, lines inside fenced code blocks)."""
    prose: list[str] = []
    code: list[str] = []
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        (code if fenced else prose).append(line)
    return prose, code


def code_spans(line: str) -> list[str]:
    return [match.group(2).strip() for match in CODE_SPAN.finditer(line)]


def without_code(line: str) -> str:
    return CODE_SPAN.sub("", line)


def links(text: str) -> Iterator[str]:
    """Every link and image target in the prose (not in code)."""
    prose, _ = split_fences(text)
    for line in prose:
        for match in LINK.finditer(without_code(line)):
            yield match.group("target").strip("<>")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text as shown, lower case, without punctuation,
    spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = re.sub(r"(`+)(.+?)\1", r"\2", text)  # code shows its content
    text = re.sub(r"(\*\*|__|\*)", "", text)  # emphasis markers are not text
    kept = "".join(
        ch for ch in text.lower()
        if ch in " -_" or unicodedata.category(ch)[0] in ("L", "N") or unicodedata.category(ch) == "Mn"
    )
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a page's headings (a repeated one gets -1, -2, ...)."""
    prose, _ = split_fences(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found: set[str] = set()
    for line in prose:
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group("text"))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def top_folders(root: Path = ROOT) -> list[str]:
    """The repository's top-level folders, which a path must start with to be checked."""
    names = [
        p.name for p in root.iterdir()
        if p.is_dir() and (not p.name.startswith(".") or p.name == ".ci")
        and p.name not in LEFT_BEHIND and not p.name.endswith(".egg-info")
    ]
    return sorted(names, key=len, reverse=True)


def repository_paths(text: str, folders: list[str]) -> Iterator[str]:
    """Paths into the repository that a page names in code: in code spans and fenced
    blocks, any word starting with a top-level folder and a slash. Anything else in code
    (`/etc/cib-intake/cib.env`, `python3 -m venv .venv`) is not a path into the repository."""
    start = re.compile(
        r"(?<![\w./~-])(?P<path>(?:%s)/[^\s`'\"(),;|=]*)" % "|".join(re.escape(name) for name in folders)
    )
    prose, code = split_fences(text)
    pieces = [span for line in prose for span in code_spans(line)] + code
    for piece in pieces:
        for match in start.finditer(piece):
            yield match.group("path").rstrip(".:")


def resolves(path: str, root: Path = ROOT) -> bool:
    """A path, or a pattern (`templates/<channel>/<kind>.*.j2`), matches something."""
    pattern = re.sub(r"<[^>]*>", "*", path.split("::")[0]).rstrip("/")
    if any(ch in pattern for ch in "*?["):
        return any(root.glob(pattern))
    return (root / pattern).exists()


# --- the settings ------------------------------------------------------------------------------


def setting_variables() -> dict[str, list[str]]:
    """Each setting's environment variables, the one the documentation uses first."""
    prefix = Settings.model_config.get("env_prefix", "")
    names: dict[str, list[str]] = {}
    for field_name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names[field_name] = [str(choice) for choice in alias.choices]
        elif isinstance(alias, str):
            names[field_name] = [alias]
        else:
            names[field_name] = [f"{prefix}{field_name}".upper()]
    return names


def variables_the_tests_read() -> set[str]:
    """Variables the tests read (CIB_TEST_DATABASE_URL, CIB_FUZZ_EXAMPLES, ...): the docs
    may name those too."""
    found: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        if path.name != Path(__file__).name:
            found |= set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    return found


def settings_table(path: Path) -> set[str]:
    """The variables in the first column of the table under "## Settings"."""
    section = path.read_text(encoding="utf-8").split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    named: set[str] = set()
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            named |= {span for span in code_spans(cells[1]) if VARIABLE.fullmatch(span)}
    return named


# --- the checks --------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if SCHEME.match(target):
            continue
        path, _, anchor = target.partition("#")
        goal = (page.parent / path).resolve() if path else page
        if not goal.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (goal.suffix != ".md" or anchor not in anchors(goal)):
            broken.append(f"{target}: no heading #{anchor} in {goal.relative_to(ROOT)}")
    assert not broken, broken


@pytest.mark.parametrize("page", CHECKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_named_in_code_exists(page: Path) -> None:
    folders = top_folders()
    missing = sorted({p for p in repository_paths(page.read_text(encoding="utf-8"), folders) if not resolves(p)})
    assert not missing, missing


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_named_by_itself_exists(page: Path) -> None:
    """A module named without its folder (`steps.py` in a list under `intake/pipeline/`)
    is a module of the repository: a misspelt or renamed one fails."""
    modules = {path.name for folder in top_folders() for path in (ROOT / folder).rglob("*.py")}
    prose, _ = split_fences(page.read_text(encoding="utf-8"))
    named = {span for line in prose for span in code_spans(line) if re.fullmatch(r"[\w.]+\.py", span)}
    assert not named - modules, sorted(named - modules)


def test_the_settings_table_names_every_setting() -> None:
    table = settings_table(DOCS / "operations.md")
    missing = {field: names[0] for field, names in setting_variables().items() if names[0] not in table}
    assert not missing, f"settings not in docs/operations.md's table: {missing}"


@pytest.mark.parametrize("page", CHECKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_variable_named_is_real(page: Path) -> None:
    real = {name for names in setting_variables().values() for name in names} | variables_the_tests_read()
    unknown = sorted(set(VARIABLE.findall(page.read_text(encoding="utf-8"))) - real)
    assert not unknown, f"not a setting (or a variable the tests read): {unknown}"


def test_the_readme_maps_every_page() -> None:
    targets = {target.partition("#")[0] for target in links((ROOT / "README.md").read_text(encoding="utf-8"))}
    unlisted = [p.name for p in DOCS.glob("*.md") if f"docs/{p.name}" not in targets]
    assert not unlisted, f"pages the README's map does not link: {unlisted}"


# --- the checks themselves catch a real mistake, and leave prose alone -------------------------


def test_headings_slug_as_github_does() -> None:
    assert slug("The contacts: config/contacts.csv") == "the-contacts-configcontactscsv"
    assert slug("The workspace's sign-in") == "the-workspaces-sign-in"
    assert slug("`cib check`") == "cib-check"
    assert slug("Where a change goes") == "where-a-change-goes"


def test_paths_are_read_from_code_only_and_from_the_repository_only(tmp_path: Path) -> None:
    (tmp_path / "intake").mkdir()
    (tmp_path / "intake" / "steps.py").write_text("")
    (tmp_path / "templates" / "email").mkdir(parents=True)
    (tmp_path / "templates" / "email" / "ack.txt.j2").write_text("")
    page = """The intake/ folder in prose is not checked; `intake/steps.py` and `intake/stesp.py` are.

```sh
install -m 640 deploy/x /etc/cib-intake/cib.env
python -m pytest tests/test_x.py::test_y
```

`templates/<channel>/<kind>.txt.j2` is a pattern; `python3 -m venv .venv` names no path.
"""
    found = list(repository_paths(page, top_folders(tmp_path)))
    assert found == ["intake/steps.py", "intake/stesp.py", "templates/<channel>/<kind>.txt.j2"]
    assert [p for p in found if not resolves(p, tmp_path)] == ["intake/stesp.py"]


def test_a_misspelt_variable_is_caught() -> None:
    real = {name for names in setting_variables().values() for name in names}
    assert "CIB_HTTP_PORT" in real and "SLACK_BOT_TOKEN" in real and "CIB_SLACK_BOT_TOKEN" in real
    assert set(VARIABLE.findall("set `CIB_HTTP_PROT=3000` and SLACK_BOT_TOKEN")) - real == {"CIB_HTTP_PROT"}
