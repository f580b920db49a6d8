"""Nobody outside the team can stop a member signing in: the sign-in limits count each
client on its own (behind a reverse proxy named in CIB_TRUSTED_PROXIES, the client its
X-Forwarded-For names, read from the right), a member's links only for that member, and
whatever is typed the answer is a page, never a 5xx, the same for any address."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import ValidationError

from intake.runtime.composition import Runtime, create_service
from intake.pipeline.reply_limits import Limit
from intake.runtime.settings import Settings
from tests.team_browser import TEAM, Page, TeamBrowser
from workspace.sign_in_limits import Attempts, client_of, networks

OUTSIDER = "203.0.113.7"
MEMBER = "198.51.100.2"


@pytest.fixture
async def proxied(settings_factory, clock) -> AsyncIterator[Runtime]:
    """The service behind a reverse proxy on loopback, as CIB_TRUSTED_PROXIES names it."""
    runtime = create_service(settings_factory(trusted_proxies=["127.0.0.1", "::1"]), clock=clock)
    await runtime.start(smtp=False, slack=False, scheduler=False)
    try:
        yield runtime
    finally:
        await runtime.stop()


async def ask(browser: TeamBrowser, address: str, forwarded: str | None = None) -> Page:
    """The sign-in form, as a browser behind the proxy sends it (the proxy adds the hop)."""
    form = await browser.get("/team/sign-in")
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    async with browser.session.post(browser.base + "/team/sign-in", data={"csrf": form.csrf(), "email": address},
                                    headers=headers) as response:
        return Page(response.status, str(response.url), await response.text())


def _same(page: Page, address: str) -> str:
    return page.text.replace(address, "X")


async def test_an_outsider_flooding_the_form_behind_the_proxy_stops_only_themselves(proxied, relay):
    async with TeamBrowser(proxied) as outsider:
        # Any address, the member's too, until the outsider's own client is refused.
        answers = [(await ask(outsider, f"n{n}@example.com", OUTSIDER)).status for n in range(12)]
        answers += [(await ask(outsider, TEAM, OUTSIDER)).status for _ in range(12)]
        assert answers == [200] * 20 + [429] * 4
    async with TeamBrowser(proxied) as member:
        assert (await ask(member, TEAM, MEMBER)).status == 200
    await proxied.delivery.flush()
    # The outsider's 8 requests for the member drew the 5 links of the outsider's client;
    # the member's own request drew one more.
    assert len(relay.to(TEAM)) == 6


async def test_a_forged_x_forwarded_for_buys_no_fresh_allowance(proxied, relay):
    # Behind the proxy, only the hop the proxy added counts: what the client wrote to the left is ignored.
    async with TeamBrowser(proxied) as outsider:
        answers = [(await ask(outsider, f"n{n}@example.com", f"10.9.{n}.1, {OUTSIDER}")).status for n in range(21)]
        assert answers == [200] * 20 + [429]


async def test_without_trusted_proxies_x_forwarded_for_is_not_read(runtime, relay):
    async with TeamBrowser(runtime) as direct:
        answers = [(await ask(direct, f"n{n}@example.com", f"10.9.{n}.1")).status for n in range(21)]
        assert answers == [200] * 20 + [429]


async def test_the_page_is_the_same_for_any_address_past_a_members_allowance(proxied, relay):
    async with TeamBrowser(proxied) as browser:
        for _ in range(7):  # past the member's 5 from one client
            member = await ask(browser, TEAM, OUTSIDER)
            outsider = await ask(browser, "someone@example.com", OUTSIDER)
            assert member.status == outsider.status == 200
            assert _same(member, TEAM) == _same(outsider, "someone@example.com")
    await proxied.delivery.flush()
    assert len(relay.to(TEAM)) == 5


async def test_links_sent_by_everyone_together_are_limited_and_the_page_says_the_same(proxied, relay):
    proxied.workspace.attempts = Attempts(sent=Limit(3, timedelta(minutes=15)))
    async with TeamBrowser(proxied) as browser:
        for n in range(5):  # from five clients
            member = await ask(browser, TEAM, f"192.0.2.{n}")
            outsider = await ask(browser, "someone@example.com", f"192.0.2.{n}")
            assert member.status == outsider.status == 200
            assert _same(member, TEAM) == _same(outsider, "someone@example.com")
    await proxied.delivery.flush()
    assert len(relay.to(TEAM)) == 3


@pytest.mark.parametrize("typed", [
    "bob@example.org.", "@example.org", "bob@@example.org", "bob@example..org", "bob@.example.org",
    "a@b@c", "\x00", "bob@example.org\x00", "bob@exa\u200bmple.org", "=cmd|' /C calc'!A0",
])
async def test_anything_typed_gets_a_page_never_a_500(runtime, typed):
    async with TeamBrowser(runtime) as browser:
        page = await browser.ask_for_link(typed)
        assert page.status in (200, 400), page.text[:300]
        assert "Sign in" in page.text or "Check your email" in page.text


def test_trusted_proxies_is_a_list_of_addresses_and_networks(monkeypatch):
    monkeypatch.setenv("CIB_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16,2001:db8::/32")
    assert Settings(_env_file=None).trusted_proxies == ["10.0.0.1", "192.168.0.0/16", "2001:db8::/32"]
    monkeypatch.setenv("CIB_TRUSTED_PROXIES", "")
    assert Settings(_env_file=None).trusted_proxies == []
    monkeypatch.setenv("CIB_TRUSTED_PROXIES", "10.0.0.1,proxy.internal")
    with pytest.raises(ValidationError, match="proxy.internal"):
        Settings(_env_file=None)


_public = st.ip_addresses(v=4).filter(lambda ip: not ip.is_private)
_proxies = st.lists(st.ip_addresses(network="10.0.0.0/8"), min_size=1, max_size=3)
_spoofed = st.lists(st.one_of(st.ip_addresses().map(str), st.text(alphabet="abc:[]_ 0123456789.", max_size=12)),
                    max_size=3)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(real=_public, proxies=_proxies, spoofed=_spoofed, split=st.integers(0, 6))
def test_the_client_is_the_rightmost_hop_no_trusted_proxy_wrote(real, proxies, spoofed, split):
    """Whatever the client wrote to the left of the hop the proxies added, however the
    header was split; the connecting proxy is the last of them."""
    hops = [*spoofed, str(real), *map(str, proxies[:-1])]
    cut = split % (len(hops) + 1)  # two X-Forwarded-For headers are one list
    headers = [", ".join(part) for part in (hops[:cut], hops[cut:]) if part]
    trusted = networks(["10.0.0.0/8"])
    assert client_of(str(proxies[-1]), headers, trusted) == str(real)
    # From an untrusted peer, X-Forwarded-For is not read.
    assert client_of(str(real), headers, trusted) == str(real)
    assert client_of("::ffff:" + str(real), headers, ()) == str(real)
