"""The team's sign-in links and sessions, kept as hashes of their tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from intake.models import SignInLink, TeamSession
from intake.store.repository import Repository


class AccessRepository(Repository):
    def add_link(self, *, token_hash: str, email: str, now: datetime, expires_at: datetime) -> None:
        self.session.add(SignInLink(token_hash=token_hash, email=email, created_at=now, expires_at=expires_at))

    async def use_link(self, token_hash: str, now: datetime) -> str | None:
        """The link's address, marking it used; None when unknown, used or expired. One
        conditional UPDATE, so two clicks at once cannot both sign in."""
        email = await self.session.scalar(
            update(SignInLink)
            .where(SignInLink.token_hash == token_hash, SignInLink.used_at.is_(None), SignInLink.expires_at > now)
            .values(used_at=now)
            .returning(SignInLink.email)
        )
        return email

    async def link_state(self, token_hash: str, now: datetime) -> str:
        """"valid", "used", "expired" or "unknown": what the sign-in page tells the visitor."""
        link = await self.session.scalar(select(SignInLink).where(SignInLink.token_hash == token_hash))
        if link is None:
            return "unknown"
        if link.used_at is not None:
            return "used"
        return "expired" if link.expires_at <= now else "valid"

    async def links_since(self, email: str, since: datetime) -> int:
        return int(await self.session.scalar(
            select(func.count()).select_from(SignInLink).where(SignInLink.email == email, SignInLink.created_at > since)
        ) or 0)

    def add_session(self, *, token_hash: str, email: str, csrf: str, now: datetime, expires_at: datetime) -> None:
        self.session.add(
            TeamSession(token_hash=token_hash, email=email, csrf=csrf, created_at=now, expires_at=expires_at)
        )

    async def live_session(self, token_hash: str, now: datetime) -> TeamSession | None:
        return await self.session.scalar(
            select(TeamSession).where(
                TeamSession.token_hash == token_hash, TeamSession.ended_at.is_(None), TeamSession.expires_at > now
            )
        )

    async def end_session(self, token_hash: str, now: datetime) -> None:
        await self.session.execute(
            update(TeamSession).where(TeamSession.token_hash == token_hash).values(ended_at=now)
        )
