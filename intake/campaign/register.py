"""The council register (config/councils.csv): every English council with children's
services responsibility, and the nine regions.

Parsing asks this module which council a piece of messy text or an email address means.
An uncertain answer comes back with the closest candidates, never as a guess.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from rapidfuzz import fuzz, process

REGIONS: tuple[str, ...] = (
    "North East",
    "North West",
    "Yorkshire and The Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
)

_REGION_ALIASES: dict[str, tuple[str, ...]] = {
    "North East": ("ne", "north east england", "northeast"),
    "North West": ("nw", "north west england", "northwest"),
    "Yorkshire and The Humber": (
        "yorkshire", "yorkshire and humber", "yorkshire humber", "yorks and humber",
        "yorkshire and humberside", "y and h", "yh", "the humber",
    ),
    "East Midlands": ("em", "east mids"),
    "West Midlands": ("wm", "west mids"),
    "East of England": ("eastern", "east", "east england", "eoe"),
    "London": ("greater london", "ldn"),
    "South East": ("se", "south east england", "southeast"),
    "South West": ("sw", "south west england", "southwest"),
}

# Words that only say what kind of council it is; "Camden Council" means Camden.
_GENERIC = re.compile(
    r"\b(the|council|county|city|metropolitan|borough|district|royal|london|of|cc|mbc|bc|mdc"
    r"|lb|rb|ua|unitary|authority)\b"
)
# Aliases the register itself flags as weak: they also name towns or other councils.
_AMBIGUOUS_ALIASES: dict[str, tuple[str, ...]] = {
    "kingston": ("E09000021", "E06000010"),
}

FUZZY_ACCEPT = 88.0  # score at or above which a fuzzy match may be taken
FUZZY_MARGIN = 6.0  # the best must beat the next council by this much
FUZZY_SUGGEST = 60.0  # candidates named in an error score at least this


@dataclass(frozen=True)
class Council:
    code: str
    name: str
    region: str
    email_domains: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    kind: str = ""
    dfe_code: str = ""

    @property
    def short_name(self) -> str:
        return self.short_names[0] if self.short_names else self.name


@dataclass(frozen=True)
class Resolution:
    """The answer to "which council is this?": a council, or the closest candidates."""

    council: Council | None
    candidates: tuple[Council, ...] = ()
    reason: str = ""  # "unknown" or "ambiguous" when there is no council

    @property
    def ok(self) -> bool:
        return self.council is not None


def normalise(text: str) -> str:
    """Lower-case, ASCII, '&' as 'and', punctuation as spaces, single-spaced."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.lower().replace("&", " and ").replace("'", "")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def _core(key: str) -> str:
    return " ".join(_GENERIC.sub(" ", key).split())


@dataclass
class CouncilRegister:
    councils: Sequence[Council]
    _by_code: dict[str, Council] = field(init=False, repr=False)
    _by_key: dict[str, set[str]] = field(init=False, repr=False)
    _by_domain: dict[str, set[str]] = field(init=False, repr=False)
    _choices: dict[str, str] = field(init=False, repr=False)
    _search_keys: dict[str, str] = field(init=False, repr=False)
    # Councils outside England, by normalised name: (name, nation). Not in the programme.
    elsewhere: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_code = {council.code: council for council in self.councils}
        self._by_key = {}
        self._by_domain = {}
        for council in self.councils:
            for name in (council.name, *council.short_names):
                for key in {normalise(name), _core(normalise(name))}:
                    if key:
                        self._by_key.setdefault(key, set()).add(council.code)
            for domain in council.email_domains:
                self._by_domain.setdefault(domain.lower(), set()).add(council.code)
        # Type-ahead: the place-naming core of every name, mapped back to its full key.
        self._search_keys = {key: _core(key) or key for key in self._by_key}
        # Fuzzy choices: one string per alias, mapped back to its council.
        self._choices = {}
        for key, codes in self._by_key.items():
            if len(codes) == 1:
                self._choices[key] = next(iter(codes))

    def __len__(self) -> int:
        return len(self.councils)

    def __iter__(self):
        return iter(self.councils)

    def get(self, code: str) -> Council | None:
        return self._by_code.get(code)

    def in_region(self, region: str) -> list[Council]:
        return [council for council in self.councils if council.region == region]

    def _domain_codes(self, address: str | None) -> set[str]:
        """The councils of the most specific register domain the address is at (the domain
        itself or a parent of it)."""
        if not address or "@" not in address:
            return set()
        labels = address.rsplit("@", 1)[1].strip().strip(">").lower().split(".")
        for start in range(len(labels) - 1):
            codes = self._by_domain.get(".".join(labels[start:]))
            if codes:
                return codes
        return set()

    def by_email(self, address: str | None) -> Council | None:
        """The council whose domain (or a parent of it) the address is at, if exactly one."""
        codes = self._domain_codes(address)
        return self._by_code[next(iter(codes))] if len(codes) == 1 else None

    def owns_address(self, council: Council, address: str | None) -> bool:
        """The address is at one of the council's domains, its own or shared (a children's
        services company serving several councils)."""
        return council.code in self._domain_codes(address)

    def resolve(self, text: str) -> Resolution:
        """Which council `text` names: exact name, alias, GSS or DfE code, then fuzzy."""
        raw = text.strip()
        if not raw:
            return Resolution(None, (), "unknown")
        upper = raw.upper()
        if upper in self._by_code:
            return Resolution(self._by_code[upper])
        for council in self.councils:
            if council.dfe_code and raw == council.dfe_code:
                return Resolution(council)
        key = normalise(raw)
        if key in _AMBIGUOUS_ALIASES:
            return Resolution(
                None, tuple(self._by_code[c] for c in _AMBIGUOUS_ALIASES[key]), "ambiguous"
            )
        for candidate in (key, _core(key)):
            codes = self._by_key.get(candidate)
            if codes and len(codes) == 1:
                return Resolution(self._by_code[next(iter(codes))])
            if codes:
                return Resolution(None, self._sorted(codes), "ambiguous")
        return self._fuzzy(key)

    def outside_england(self, text: str) -> tuple[str, str] | None:
        """(name, nation) when `text` names a council in Wales, Scotland or Northern
        Ireland (which the programme is not for), and no English council."""
        key = normalise(council_name_of(text))
        if not key or key in self._by_key:
            return None
        return self.elsewhere.get(key) or self.elsewhere.get(_core(key) or key)

    def outside_mentioned(self, text: str) -> tuple[str, str] | None:
        """The first council outside England a piece of prose names, written as a name."""
        for match in re.finditer(r"[A-Z][\w'’&-]*(?:\s+(?:and|of|upon|on|the|nan|[A-Z][\w'’&-]*))*", text):
            words = match.group(0).split()
            for size in range(len(words), 0, -1):
                for start in range(0, len(words) - size + 1):
                    found = self.elsewhere.get(normalise(" ".join(words[start:start + size])))
                    if found:
                        return found
        return None

    def mentioned(self, text: str) -> list[Council]:
        """Councils a piece of prose names, each once, in order: a name or short name
        written with capitals, as a name is ("Salford would like..."), so the verb in
        "thank you for reading" is not Reading Borough Council."""
        found: dict[str, int] = {}
        for match in re.finditer(r"[A-Z][\w'’&-]*(?:\s+(?:and|of|upon|on|the|[A-Z][\w'’&-]*))*", text):
            words = match.group(0).split()
            for size in range(len(words), 0, -1):
                for start in range(0, len(words) - size + 1):
                    piece = words[start:start + size]
                    if not piece[0][:1].isupper() or not piece[-1][:1].isupper():
                        continue
                    codes = self._by_key.get(normalise(" ".join(piece)))
                    if codes and len(codes) == 1:
                        found.setdefault(next(iter(codes)), match.start())
        return [self._by_code[code] for code, _ in sorted(found.items(), key=lambda item: item[1])]

    def search(self, text: str, limit: int = 20) -> list[Council]:
        """Councils for a type-ahead box, best first: a name or short name that starts with
        `text`, then one with a word starting with it, then one containing it, then near
        spellings ("Camdn"). Empty text lists the register alphabetically."""
        if limit <= 0:
            return []
        query = normalise(text)
        if not query:
            return sorted(self.councils, key=lambda c: c.name)[:limit]
        exact = self._by_code.get(text.strip().upper())
        best: dict[str, tuple[int, float]] = {exact.code: (5, 100.0)} if exact else {}
        words = query.split()
        for key, codes in self._by_key.items():
            if key.startswith(query):
                rank = (4, 100.0 - len(key) / 10)
            elif all(any(w.startswith(q) for w in key.split()) for q in words):
                rank = (3, 100.0 - len(key) / 10)
            elif query in key:
                rank = (2, 100.0 - len(key) / 10)
            else:
                continue
            for code in codes:
                best[code] = max(best.get(code, rank), rank)
        # Near spellings ("Camdn"), scored on the words that name the place.
        core = _core(query) or query
        for _, score, key in process.extract(
            core, self._search_keys, scorer=fuzz.WRatio, limit=limit * 2, score_cutoff=75
        ):
            for code in self._by_key[key]:
                best.setdefault(code, (1, score))
        ranked = sorted(
            best.items(), key=lambda item: (-item[1][0], -item[1][1], self._by_code[item[0]].name)
        )
        return [self._by_code[code] for code, _ in ranked[:limit]]

    def _sorted(self, codes: Iterable[str]) -> tuple[Council, ...]:
        return tuple(sorted((self._by_code[c] for c in codes), key=lambda c: c.name))

    def _fuzzy(self, key: str) -> Resolution:
        scores: dict[str, float] = {}
        # Match on what names the place ("xyz" in "xyz council"), so the generic words
        # shared by every council cannot make an unknown name look close to all of them.
        for query in {_core(key) or key}:
            for choice, score, _ in process.extract(
                query, self._choices.keys(), scorer=fuzz.WRatio, limit=12
            ):
                code = self._choices[choice]
                # Plain ratio tempers WRatio's generosity to short partial matches.
                blended = (score + fuzz.ratio(query, choice)) / 2
                scores[code] = max(scores.get(code, 0.0), blended)
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        if not ranked:
            return Resolution(None, (), "unknown")
        best_code, best = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if best >= FUZZY_ACCEPT and best - runner_up >= FUZZY_MARGIN:
            return Resolution(self._by_code[best_code])
        close = tuple(
            self._by_code[code] for code, score in ranked[:3] if score >= FUZZY_SUGGEST
        )
        reason = "ambiguous" if len(close) > 1 and best >= FUZZY_ACCEPT else "unknown"
        return Resolution(None, close, reason)


def resolve_region(text: str) -> str | None:
    """The region `text` names (exactly, by a common short form, or nearly), or None."""
    key = normalise(text).removesuffix(" region").strip()
    if not key:
        return None
    for region in REGIONS:
        if key == normalise(region) or key in _REGION_ALIASES[region]:
            return region
    choices = {normalise(region): region for region in REGIONS}
    match = process.extractOne(key, choices.keys(), scorer=fuzz.ratio, score_cutoff=85)
    return choices[match[0]] if match else None


def council_name_of(raw: str) -> str:
    """A council's name without what people add: "(Wales)", " - Children's Services"."""
    return re.split(r"\s[-–—]\s|\(|\n", raw, maxsplit=1)[0].strip() or raw


def load_elsewhere(path: Path) -> dict[str, tuple[str, str]]:
    """config/councils_outside_england.csv, when there is one: normalised name -> (name, nation)."""
    if not path.exists():
        return {}
    found: dict[str, tuple[str, str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name, nation = row["name"].strip(), row["nation"].strip()
            for alias in (name, *(s for s in (row.get("short_names") or "").split("|"))):
                for key in {normalise(alias), _core(normalise(alias))}:
                    if key:
                        found.setdefault(key, (name, nation))
    return found


def load_councils(path: Path) -> CouncilRegister:
    """Read config/councils.csv; a bad row stops start-up with the file and line named.
    Councils outside England come from the file beside it (see `load_elsewhere`)."""
    councils: list[Council] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                region = row["region"].strip()
                if region not in REGIONS:
                    raise ValueError(f"unknown region {region!r}")
                councils.append(
                    Council(
                        code=row["gss_code"].strip(),
                        name=row["name"].strip(),
                        region=region,
                        email_domains=tuple(
                            d.strip().lower() for d in row["email_domains"].split("|") if d.strip()
                        ),
                        short_names=tuple(
                            s.strip() for s in (row.get("short_names") or "").split("|") if s.strip()
                        ),
                        kind=(row.get("kind") or "").strip(),
                        dfe_code=(row.get("dfe_code") or "").strip(),
                    )
                )
            except (KeyError, ValueError, AttributeError) as error:
                raise ConfigError(f"{path}: line {line}: {error}") from error
    if not councils:
        raise ConfigError(f"{path}: no councils")
    councils = with_providers(councils, path.with_name("childrens_services_providers.csv"))
    return CouncilRegister(councils, elsewhere=load_elsewhere(path.with_name("councils_outside_england.csv")))


def with_providers(councils: list[Council], path: Path) -> list[Council]:
    """Councils whose children's services are run by a trust or company of their own
    (Achieving for Children, Birmingham Children's Trust, ...): its officers write from its
    domain, which counts as the council's (config/childrens_services_providers.csv, when
    there is one). A domain shared by several councils names none of them by itself."""
    if not path.exists():
        return councils
    extra: dict[str, list[str]] = {}
    known = {council.code for council in councils}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                domains = [d.strip().lower() for d in row["email_domains"].split("|") if d.strip()]
                for code in (c.strip() for c in row["gss_codes"].split("|") if c.strip()):
                    if code not in known:
                        raise ValueError(f"unknown council {code!r}")
                    extra.setdefault(code, []).extend(domains)
            except (KeyError, ValueError, AttributeError) as error:
                raise ConfigError(f"{path}: line {line}: {error}") from error
    return [
        replace(council, email_domains=tuple(dict.fromkeys((*council.email_domains, *extra[council.code]))))
        if council.code in extra else council
        for council in councils
    ]


class ConfigError(Exception):
    """Invalid configuration: the message names the file, key and problem."""
