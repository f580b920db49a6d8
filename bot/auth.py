"""Who the bot is (auth.test), learnt once at start-up instead of on the first request.

Bolt's single-workspace authorisation calls auth.test when the first request arrives, so
the first ack after a restart waits for Slack (and a burst of first requests makes a burst
of auth.test calls). Here the answer is fetched when the bot starts and reused; until it
is known, requests are authorised with the bot token alone and one background call tries
again, so an ack never waits for the Web API.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


class BotIdentity(AsyncAuthorize):
    def __init__(self, client: AsyncWebClient, *, retry_after: float = 30.0) -> None:
        super().__init__()
        self.client = client
        self.result: AuthorizeResult | None = None
        self._retry_after = retry_after
        self._next_try = 0.0
        self._task: asyncio.Task[bool] | None = None

    async def learn(self) -> bool:
        """auth.test; True when the bot's user and bot ids are known."""
        try:
            response = await self.client.auth_test()
        except Exception as error:  # the Web API unreachable or refusing: try again later
            log.warning("Slack auth.test failed: %s", error)
            return False
        self.result = AuthorizeResult.from_auth_test_response(
            bot_token=self.client.token, auth_test_response=response
        )
        return True

    async def __call__(
        self,
        *,
        context: Any,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: Any,
    ) -> AuthorizeResult | None:
        if self.result is not None:
            return self.result
        if (self._task is None or self._task.done()) and time.monotonic() >= self._next_try:
            self._next_try = time.monotonic() + self._retry_after
            self._task = asyncio.get_running_loop().create_task(self.learn())
        return AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=self.client.token, user_id=user_id
        )

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
