"""Who is writing: a Slack user id to their profile email (users.info), which the core
turns into their council, and to the direct-message channel the bot answers them in.

Both are cached for a while: one burst of messages from a council costs one users.info,
and the Web API's rate limits are kept for the answers.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Person:
    user_id: str
    email: str | None = None
    name: str | None = None
    is_bot: bool = False


class Directory:
    def __init__(self, client: AsyncWebClient, *, ttl: float = 600.0) -> None:
        self.client = client
        self.ttl = ttl
        self._people: dict[str, tuple[float, Person]] = {}
        self._dms: dict[str, str] = {}
        self._pending: dict[str, asyncio.Future[Person]] = {}

    def cached(self, user_id: str) -> Person | None:
        hit = self._people.get(user_id)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    async def person(self, user_id: str) -> Person:
        """The user's profile email and name; without an email when Slack gives none
        (no users:read.email scope, a guest, a deleted user): the core then treats the
        sender as unknown, never as someone else."""
        if not user_id:
            return Person("")
        hit = self.cached(user_id)
        if hit is not None:
            return hit
        pending = self._pending.get(user_id)
        if pending is not None:  # one lookup per user however many messages arrive at once
            return await asyncio.shield(pending)
        future: asyncio.Future[Person] = asyncio.get_running_loop().create_future()
        self._pending[user_id] = future
        try:
            person = await self._lookup(user_id)
            future.set_result(person)
            return person
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it, nobody else logs it
            raise
        finally:
            self._pending.pop(user_id, None)

    async def _lookup(self, user_id: str) -> Person:
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as error:
            log.warning("users.info for %s failed: %s", user_id, error.response.get("error"))
            person = Person(user_id)
            if error.response.get("error") in ("user_not_found", "user_not_visible", "account_inactive"):
                # Remembered briefly, so a burst from an unknown user costs one lookup.
                self._people[user_id] = (time.monotonic() + min(self.ttl, 60.0), person)
            return person
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        email = (profile.get("email") or "").strip().lower() or None
        name = (profile.get("real_name") or user.get("real_name") or "").strip() or None
        person = Person(user_id, email=email, name=name, is_bot=bool(user.get("is_bot")))
        self._people[user_id] = (time.monotonic() + self.ttl, person)
        return person

    def adopt(self, other: Directory) -> None:
        """Learn the direct-message channels another directory has opened."""
        self._dms.update(other._dms)

    def known_dm(self, user_id: str) -> str | None:
        return self._dms.get(user_id)

    async def dm_channel(self, user_id: str) -> str:
        """The bot's direct-message channel with the user (conversations.open)."""
        channel = self._dms.get(user_id)
        if channel is None:
            response = await self.client.conversations_open(users=user_id)
            channel = response["channel"]["id"]
            self._dms[user_id] = channel
        return channel
