"""The council register and its sources agree: `scripts/build_register.py`, run on the
files in `config/sources/`, writes `config/councils.csv` byte for byte; and it stops,
with the reason, when the sources disagree."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build_register.py"
SOURCES = ROOT / "config" / "sources"


def build(tmp_path: Path, sources: Path = SOURCES) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--sources", str(sources), "--output", str(tmp_path / "councils.csv")],
        capture_output=True, text=True, timeout=60,
    )


def test_the_script_rebuilds_the_register_exactly(tmp_path: Path) -> None:
    result = build(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "councils.csv").read_bytes() == (ROOT / "config" / "councils.csv").read_bytes()


def test_every_source_the_register_cites_is_in_the_repository() -> None:
    for name in ("councils.csv", "councils_extra.csv", "councils_aliases.csv", "councils_SOURCES.md", "README.md"):
        assert (SOURCES / name).is_file(), name


def test_sources_that_disagree_stop_the_build(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(SOURCES, sources)
    aliases = sources / "councils_aliases.csv"
    # Hartlepool's first chosen alias no longer chosen: its short names no longer agree.
    text = aliases.read_bytes().replace(b"E06000001,Hartlepool,mysociety:nice-name,yes,",
                                        b"E06000001,Hartlepool,mysociety:nice-name,no,", 1)
    assert text != aliases.read_bytes()
    aliases.write_bytes(text)
    result = build(tmp_path, sources)
    assert result.returncode == 1
    assert "E06000001: short_names differ" in result.stderr
    assert not (tmp_path / "councils.csv").exists()


def test_a_domain_two_councils_would_share_is_nobodys(tmp_path: Path) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import build_register
    finally:
        sys.path.remove(str(SCRIPT.parent))
    councils = [{"gss_code": "A", "domain": "a.gov.uk"}, {"gss_code": "B", "domain": "b.gov.uk"}]
    extra = {"A": {"ukps_domains": "a.gov.uk|shared.gov.uk"}, "B": {"ukps_domains": "shared.gov.uk|b2.gov.uk"}}
    assert build_register.email_domains(councils, extra) == {"A": ["a.gov.uk"], "B": ["b.gov.uk", "b2.gov.uk"]}
