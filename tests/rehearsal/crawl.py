"""A crawler over the team's workspace, signed in: from the overview it follows every link,
tries every option of every filter and a set of searches, and opens every download (CSV
parsed, XLSX opened with openpyxl). Every page must answer 200 with a whole HTML page;
what it finds is returned with each page's time, for the benchmark."""
from __future__ import annotations

import csv
import io
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin, urlsplit

from bs4 import BeautifulSoup
from openpyxl import load_workbook

from tests.team_browser import TeamBrowser

SKIP = ("/team/sign-out", "/team/sign-in", "/team/static/")


@dataclass
class Crawl:
    pages: dict[str, str] = field(default_factory=dict)  # url -> html
    timings: list[tuple[str, float]] = field(default_factory=list)  # (kind of page, seconds)
    largest: dict[str, int] = field(default_factory=dict)  # kind of page -> its largest body, bytes
    downloads: dict[str, object] = field(default_factory=dict)  # url -> parsed rows
    failures: list[str] = field(default_factory=list)


def kind_of(url: str) -> str:
    """A page's kind, for timings: /team/entries/PBR-0001 is an "entry" page."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith((".csv", ".xlsx")):
        return "download " + path.rsplit("/", 1)[1].split(".")[0] + "." + path.rsplit(".", 1)[1]
    if path == "/team":
        return "overview"
    if path.endswith("/personal-data"):
        return "personal data"
    if path.startswith("/team/entries/"):
        return "entry"
    if path == "/team/entries":
        return "entries (search)" if "q=" in parts.query else "entries (filtered)" if parts.query else "entries"
    return path.removeprefix("/team/") or "overview"


def _links(url: str, soup: BeautifulSoup) -> list[str]:
    found = []
    for anchor in soup.find_all("a", href=True):
        target = urljoin(url, str(anchor["href"])).split("#", 1)[0]
        if urlsplit(target).path.startswith("/team") and not target.startswith(tuple(
                urljoin(url, s) for s in SKIP)):
            found.append(target)
    return found


def _filters(url: str, soup: BeautifulSoup, searches: list[str]) -> list[str]:
    """Every option of every select of every GET form, one at a time, and each search."""
    found = []
    for form in soup.find_all("form"):
        if (form.get("method") or "get").lower() != "get":
            continue
        action = urljoin(url, str(form.get("action") or url))
        for select in form.find_all("select"):
            for option in select.find_all("option"):
                value = option.get("value")
                if value:
                    found.append(f"{action}?{urlencode({select['name']: value})}")
        if form.find("input", attrs={"name": "q"}) is not None:
            found += [f"{action}?{urlencode({'q': term})}" for term in searches]
    return found


def _open(url: str, body: bytes) -> object:
    if url.endswith(".csv"):
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
        return rows
    book = load_workbook(io.BytesIO(body), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


async def crawl(browser: TeamBrowser, *, searches: list[str], limit: int = 20_000,
                only: tuple[str, ...] | None = None, personal_pages: int = 0) -> Crawl:
    """From the overview, everything reachable; or `only` those paths, following nothing.
    A person's data page searches every stored message for them (a subject access
    search): at most `personal_pages` of them are opened, not one for each entry."""
    result = Crawl()
    start = browser.base + "/team/"
    queue: deque[str] = deque([browser.base + path for path in only] if only else [start])
    seen = set(queue)
    personal = 0
    while queue and len(seen) <= limit:
        url = queue.popleft()
        began = time.perf_counter()
        async with browser.session.get(url, allow_redirects=False) as response:
            body = await response.read()
            status, content_type = response.status, response.headers.get("Content-Type", "")
        kind = kind_of(url)
        result.timings.append((kind, time.perf_counter() - began))
        result.largest[kind] = max(result.largest.get(kind, 0), len(body))
        if status != 200:
            result.failures.append(f"{status} {url}: {body[:300]!r}")
            continue
        if url.endswith((".csv", ".xlsx")):
            try:
                result.downloads[url] = _open(url, body)
            except Exception as error:  # noqa: BLE001 - any failure to open is the finding
                result.failures.append(f"download {url} does not open: {error!r}")
            continue
        if "text/html" not in content_type:
            result.failures.append(f"{url} answered {content_type}")
            continue
        text = body.decode()
        result.pages[url] = text
        if not text.lstrip().lower().startswith("<!doctype html>") or "</html>" not in text:
            result.failures.append(f"{url} is not a whole HTML page")
        if only:
            continue
        soup = BeautifulSoup(text, "html.parser")
        for target in _links(url, soup) + _filters(url, soup, searches):
            if target in seen:
                continue
            if urlsplit(target).path.endswith("/personal-data"):
                if personal >= personal_pages:
                    continue
                personal += 1
            seen.add(target)
            queue.append(target)
    if queue:
        result.failures.append(f"more than {limit} pages: the crawl stopped")
    return result
