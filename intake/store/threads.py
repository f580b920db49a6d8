"""Our own messages a reply answers: found by the Message-IDs in its In-Reply-To and
References, so that a reply to an acknowledgement or a decision is read as being about
the entry that message named."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from intake.models import OutboundMessage
from intake.store.repository import Repository


class ThreadRepository(Repository):
    async def ours(self, message_ids: Sequence[str]) -> list[tuple[str, bytes]]:
        """(subject, the message as sent) of each message of ours among `message_ids`."""
        if not message_ids:
            return []
        query = select(OutboundMessage.subject, OutboundMessage.body).where(
            OutboundMessage.message_id.in_(list(message_ids)[:50])
        )
        return [(subject or "", bytes(body or b"")) for subject, body in (await self.session.execute(query)).all()]
