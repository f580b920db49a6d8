"""Long lists in pages, as GOV.UK's pagination pattern shows them: Previous and Next, the
first and last pages, the pages either side of the current one, and an ellipsis for the
gaps. Pure: a list and the page asked for in, the page's rows and its links out."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

PER_PAGE = 50
T = TypeVar("T")


@dataclass(frozen=True)
class PageLink:
    number: int | None  # None: an ellipsis
    href: str = ""
    current: bool = False


@dataclass(frozen=True)
class Pagination:
    current: int
    last: int
    first_row: int  # 1-based, for "Showing 51 to 100 of 459"
    last_row: int
    previous: str | None
    next: str | None
    links: tuple[PageLink, ...]


def page_number(asked: str | None) -> int:
    """The page asked for in the query string; anything that is not a positive number is 1."""
    try:
        return max(int((asked or "1").strip()), 1)
    except ValueError:
        return 1


def paginate(
    rows: Sequence[T], asked: int, *, path: str, query: Mapping[str, str], per_page: int = PER_PAGE,
    param: str = "page", anchor: str = "",
) -> tuple[Sequence[T], Pagination]:
    """The rows of page `asked` (past the last page: the last) and the links to the others,
    each keeping the other query parameters (the filters, other lists' pages). `param`
    names the page in the query, where one page holds several lists; `anchor` is the
    list's place on the page."""
    last = max((len(rows) + per_page - 1) // per_page, 1)
    current = min(asked, last)
    start = (current - 1) * per_page
    shown = rows[start:start + per_page]
    kept = {k: v for k, v in query.items() if v and k != param}
    fragment = f"#{anchor}" if anchor else ""

    def href(number: int) -> str:
        query = {**kept, param: str(number)} if number > 1 else kept
        return (f"{path}?{urlencode(query)}" if query else path) + fragment

    return shown, Pagination(
        current=current, last=last, first_row=start + 1 if shown else 0, last_row=start + len(shown),
        previous=href(current - 1) if current > 1 else None, next=href(current + 1) if current < last else None,
        links=tuple(PageLink(n, href(n) if n else "", n == current) for n in _numbers(current, last)),
    )


def _numbers(current: int, last: int) -> list[int | None]:
    """1, …, current-1, current, current+1, …, last (None for each gap of more than one page)."""
    wanted = sorted({1, last, *(n for n in (current - 1, current, current + 1) if 1 <= n <= last)})
    numbers: list[int | None] = []
    for n in wanted:
        if numbers and n - (numbers[-1] or 0) == 2:
            numbers.append(n - 1)  # a gap of one page shows the page, not an ellipsis
        elif numbers and n - (numbers[-1] or 0) > 2:
            numbers.append(None)
        numbers.append(n)
    return numbers
