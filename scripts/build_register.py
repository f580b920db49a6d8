"""Build the council register, `config/councils.csv`, from its sources in `config/sources/`.

    python scripts/build_register.py                  # rewrites config/councils.csv
    python scripts/build_register.py --output PATH    # writes elsewhere (the tests compare)

Where it sits: the register is data the service reads (`intake/campaign/register.py`);
this script is how that data is made, so that every row can be traced to a source
(`config/councils_SOURCES.md`, `config/sources/README.md`). Run again on the same sources
it writes the same bytes.

The rows, names, short names, regions, kinds and codes are those of
`config/sources/councils.csv`, in its order. Two changes:

- its `domain` column becomes `email_domains`: the council's web domain, then the extra
  e-mail domains `config/sources/councils_extra.csv` records from ukps-domains
  (`ukps_domains`), `|`-separated, each once;
- a domain that would belong to two councils is left out of both, as it identifies neither.

Before writing, it checks what the register relies on, and stops with the reason if a
source disagrees: each row's short names are the aliases `councils_aliases.csv` marks as
chosen, in their order; no short name names two councils; the extra file describes the
same councils with the same web domains.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "config" / "sources"
REGISTER = ROOT / "config" / "councils.csv"
COLUMNS = ["gss_code", "name", "short_names", "region", "email_domains", "kind", "dfe_code"]


class SourceError(Exception):
    """A source file disagrees with another, or with what the register needs."""


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def email_domains(councils: list[dict[str, str]], extra: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Each council's domains: its web domain first, then ukps-domains' others, each
    once; a domain two councils would share is nobody's."""
    domains: dict[str, list[str]] = {}
    for row in councils:
        listed = [row["domain"], *split(extra[row["gss_code"]]["ukps_domains"])]
        domains[row["gss_code"]] = list(dict.fromkeys(domain.lower() for domain in listed))
    shared = {domain for domain, count in Counter(d for ds in domains.values() for d in ds).items() if count > 1}
    return {code: [d for d in ds if d not in shared] for code, ds in domains.items()}


def check(councils: list[dict[str, str]], extra: dict[str, dict[str, str]], aliases: list[dict[str, str]]) -> None:
    """Stop if the sources do not describe one register."""
    codes = [row["gss_code"] for row in councils]
    if len(set(codes)) != len(codes):
        raise SourceError("councils.csv: a GSS code appears twice")
    if set(extra) != set(codes):
        raise SourceError("councils_extra.csv does not list the same councils as councils.csv")
    chosen: dict[str, list[str]] = {code: [] for code in codes}
    for alias in aliases:
        if alias["in_short_names"] == "yes":
            chosen.setdefault(alias["gss_code"], []).append(alias["alias"])
    for row in councils:
        code = row["gss_code"]
        if split(row["short_names"]) != chosen[code]:
            raise SourceError(f"{code}: short_names differ from the aliases councils_aliases.csv marks as chosen")
        if extra[code]["domain"] != row["domain"]:
            raise SourceError(f"{code}: councils_extra.csv gives the web domain {extra[code]['domain']!r}, "
                              f"councils.csv {row['domain']!r}")
    owners: dict[str, set[str]] = {}
    for row in councils:
        for name in split(row["short_names"]):
            owners.setdefault(name.casefold(), set()).add(row["gss_code"])
    twice = sorted(name for name, who in owners.items() if len(who) > 1)
    if twice:
        raise SourceError(f"short names that name two councils: {', '.join(twice)}")


def build(sources: Path = SOURCES) -> str:
    """The register's text, as `config/councils.csv` holds it."""
    councils = read_rows(sources / "councils.csv")
    extra = {row["gss_code"]: row for row in read_rows(sources / "councils_extra.csv")}
    aliases = read_rows(sources / "councils_aliases.csv")
    check(councils, extra, aliases)
    domains = email_domains(councils, extra)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in councils:
        writer.writerow({
            **{column: row[column] for column in COLUMNS if column != "email_domains"},
            "email_domains": "|".join(domains[row["gss_code"]]),
        })
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build config/councils.csv from config/sources/.")
    parser.add_argument("--sources", type=Path, default=SOURCES, help="the folder of sources (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=REGISTER, help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        text = build(args.sources)
    except KeyError as error:
        print(f"build_register: a source lacks the column or council {error}", file=sys.stderr)
        return 1
    except (SourceError, OSError) as error:
        print(f"build_register: {error}", file=sys.stderr)
        return 1
    args.output.write_text(text, encoding="utf-8", newline="")
    print(f"{args.output}: {text.count(chr(10)) - 1} councils")
    return 0


if __name__ == "__main__":
    sys.exit(main())
