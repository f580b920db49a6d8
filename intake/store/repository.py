"""What every repository shares: the unit's session."""
from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        bind: Any = self.session.bind
        return str(bind.dialect.name)
