"""A team member's browser, at the HTTP level: an aiohttp client with a cookie jar that
reads the workspace's forms (their CSRF tokens) and submits them, and signs in the way a
person does, from the link in the email the relay received."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp
from bs4 import BeautifulSoup

from intake.runtime.composition import Runtime
from tests.conftest import Relay
from tests.mailer import body_text

TEAM = "team@local.gov.uk"
LINK = re.compile(r"https?://\S+/team/sign-in/[A-Za-z0-9_-]+(?:\?\S*)?")


@dataclass
class Page:
    status: int
    url: str
    html: str

    @property
    def soup(self) -> BeautifulSoup:
        return BeautifulSoup(self.html, "html.parser")

    @property
    def text(self) -> str:
        return " ".join(self.soup.get_text(" ").split())

    def csrf(self) -> str:
        field = self.soup.find("input", attrs={"name": "csrf"})
        assert field is not None, "no form with a CSRF token on " + self.url
        return str(field["value"])


class TeamBrowser:
    def __init__(self, runtime: Runtime) -> None:
        self.base = f"http://127.0.0.1:{runtime.http_port}"
        # unsafe: cookies for 127.0.0.1 (an IP address) are kept too.
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def __aenter__(self) -> TeamBrowser:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.session.close()

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    async def get(self, path: str, *, follow: bool = True) -> Page:
        async with self.session.get(self._url(path), allow_redirects=follow) as response:
            return Page(response.status, str(response.url), await response.text())

    async def raw(self, path: str) -> aiohttp.ClientResponse:
        response = await self.session.get(self._url(path))
        await response.read()
        return response

    async def post(self, path: str, data: dict[str, str], *, follow: bool = True) -> Page:
        async with self.session.post(self._url(path), data=data, allow_redirects=follow) as response:
            return Page(response.status, str(response.url), await response.text())

    async def submit(self, page: Page, action: str, **fields: str) -> Page:
        """Submit the form on `page` whose action is `action`, with its CSRF token."""
        return await self.post(action, {"csrf": page.csrf(), **fields})

    async def ask_for_link(self, address: str = TEAM) -> Page:
        form = await self.get("/team/sign-in")
        return await self.submit(form, "/team/sign-in", email=address)

    async def sign_in(self, runtime: Runtime, relay: Relay, address: str = TEAM) -> Page:
        before = len(relay.to(address))
        await self.ask_for_link(address)
        await runtime.delivery.flush()
        mails = relay.to(address)
        assert len(mails) == before + 1, "no sign-in email arrived"
        link = link_in(body_text(mails[-1]))
        landing = await self.get(link)
        assert landing.status == 200, landing.text
        return await self.submit(landing, link)

    def cookie(self, name: str) -> Any:
        return next((c for c in self.session.cookie_jar if c.key == name), None)


def link_in(text: str) -> str:
    found = LINK.search(text)
    assert found, "no sign-in link in: " + text
    return found.group(0)
