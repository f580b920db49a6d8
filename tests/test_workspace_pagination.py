"""The team's list of entries in pages of 50, as GOV.UK's pagination pattern shows them:
the pure paging over generated lists, then a list of 61 entries over HTTP, with filters
kept from page to page and the page checked by the Nu HTML checker."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.accessibility import nu_errors
from tests.campaign_seed import receive, submit
from tests.team_browser import TeamBrowser
from workspace.pages import NEEDS_PER_PAGE
from workspace.pagination import PER_PAGE, page_number, paginate


@settings(max_examples=200, deadline=None)
@given(total=st.integers(0, 400), per_page=st.integers(1, 60), asked=st.integers(1, 50),
       query=st.dictionaries(st.sampled_from(["q", "offer", "region", "page"]), st.text(max_size=8), max_size=3))
def test_pages_cover_every_row_once_and_link_to_their_neighbours(total, per_page, asked, query):
    rows = list(range(total))
    shown, pages = paginate(rows, asked, path="/team/entries", query=query, per_page=per_page)
    assert 1 <= pages.current <= pages.last and pages.current == min(asked, pages.last)
    everything = [r for n in range(1, pages.last + 1)
                  for r in paginate(rows, n, path="/team/entries", query=query, per_page=per_page)[0]]
    assert everything == rows  # every row on exactly one page, in order
    assert list(shown) == rows[pages.first_row - 1:pages.last_row] if shown else pages.first_row == 0
    numbers = [link.number for link in pages.links]
    assert numbers[0] == 1 and numbers[-1] == pages.last and pages.current in numbers
    assert [link.number for link in pages.links if link.current] == [pages.current]
    assert all(not (a is None and b is None) for a, b in zip(numbers, numbers[1:]))  # no two ellipses together
    real = [n for n in numbers if n is not None]
    assert real == sorted(set(real))
    assert (pages.previous is None) == (pages.current == 1) and (pages.next is None) == (pages.current == pages.last)
    kept = {k: v for k, v in query.items() if v and k != "page"}
    for link in [l for l in pages.links if l.number] + []:
        asked_for = parse_qs(urlsplit(link.href).query)
        assert {k: v[0] for k, v in asked_for.items() if k != "page"} == kept  # the filters go along
        assert int(asked_for.get("page", ["1"])[0]) == link.number


@settings(max_examples=100, deadline=None)
@given(total=st.integers(0, 200), asked=st.integers(1, 20),
       query=st.dictionaries(st.sampled_from(["drafts-page", "late-page", "stuck-page"]), st.sampled_from(["2", "3"]),
                             max_size=3))
def test_lists_paged_on_one_page_keep_each_others_pages(total, asked, query):
    shown, pages = paginate(list(range(total)), asked, path="/team/needs", query=query, per_page=25,
                            param="late-page", anchor="late")
    for link in [l for l in pages.links if l.number]:
        path, _, fragment = link.href.partition("#")
        assert fragment == "late"
        asked_for = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        assert int(asked_for.pop("late-page", "1")) == link.number
        assert asked_for == {k: v for k, v in query.items() if k != "late-page"}


def test_a_page_asked_for_in_any_form_is_a_page():
    assert [page_number(v) for v in (None, "", "2", " 3 ", "0", "-4", "two", "9" * 40)] == [1, 1, 2, 3, 1, 1, 1, int("9" * 40)]


async def test_a_long_list_is_shown_in_pages_with_its_filters_kept(runtime, relay):
    offers = ("pbr-pathfinder", "children-centres-support", "early-adopter")
    councils = [c for c in runtime.councils.councils if c.email_domains][:21]
    for council in councils:
        for offer in offers:
            await submit(runtime, offer, council.name, sender=f"officer@{council.email_domains[0]}")
    total = len(councils) * len(offers)
    assert total == 63 > PER_PAGE
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        first = await browser.get("/team/entries")
        assert f"Showing 1 to {PER_PAGE} of {total}, page 1 of 2." in first.text
        assert len(first.soup.select("table tbody tr")) == PER_PAGE
        nav = first.soup.find("nav", attrs={"aria-label": "Pages of results"})
        assert nav is not None and nav.find("a", attrs={"aria-current": "page"}).get_text() == "1"
        second = await browser.get(nav.find("a", rel="next")["href"])
        assert f"Showing {PER_PAGE + 1} to {total} of {total}, page 2 of 2." in second.text
        assert len(second.soup.select("table tbody tr")) == total - PER_PAGE
        references = {a.get_text() for page in (first, second) for a in page.soup.select("table tbody tr td:first-child a")}
        assert len(references) == total  # no entry on both pages, none left out
        # A filter that still needs two pages keeps itself in every page link.
        filtered = await browser.get("/team/entries?kind=submission&page=2")
        assert "page 2 of 2" in filtered.text and "(63 in all)" not in filtered.text
        back = filtered.soup.find("a", rel="prev")["href"]
        assert "kind=submission" in back and "page=" not in back
        # Past the last page: the last; not a number: the first.
        assert "page 2 of 2" in (await browser.get("/team/entries?page=999")).text
        assert "page 1 of 2" in (await browser.get("/team/entries?page=x")).text
        # One page of results: no pagination.
        one = await browser.get("/team/entries?offer=pbr-pathfinder")
        assert "Showing 21 of 63." in one.text and one.soup.find("nav", attrs={"aria-label": "Pages of results"}) is None
        assert nu_errors({"page 1": first.html, "page 2": second.html}) == {"page 1": [], "page 2": []}


async def test_each_list_of_needs_a_person_is_paged_on_its_own(runtime, relay):
    """30 unverified entries (written from addresses no council owns) and a question: the
    unverified list is paged, 25 at a time, its pages kept apart from the other lists'."""
    councils = [c for c in runtime.councils.councils if c.email_domains][:30]
    for n, council in enumerate(councils):
        await submit(runtime, "pbr-pathfinder", council.name, sender=f"officer{n}@gmail.com")
    await receive(runtime, "What counts as a children's centre?", sender="pa@leeds.gov.uk", subject="A question")
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        first = await browser.get("/team/needs")
        section = first.soup.find(id="unverified")
        assert len(section.select("tbody tr")) == NEEDS_PER_PAGE
        assert f"Showing 1 to {NEEDS_PER_PAGE} of 30 unverified entries." in section.get_text(" ", strip=True)
        nav = section.find("nav", attrs={"aria-label": "Pages of unverified entries"})
        following = nav.find("a", rel="next")["href"]
        assert following == "/team/needs?unverified-page=2#unverified"
        assert first.soup.find(id="enquiries").find("nav") is None  # one question: no pages
        second = await browser.get(following)
        rows = second.soup.find(id="unverified").select("tbody tr")
        assert len(rows) == 30 - NEEDS_PER_PAGE
        references = {a.get_text() for page in (first, second)
                      for a in page.soup.find(id="unverified").select("tbody tr td:first-child a")}
        assert len(references) == 30
        assert "What counts as a children" in second.text  # the other lists stay on their first page
        assert nu_errors({"page 1": first.html, "page 2": second.html}) == {"page 1": [], "page 2": []}
