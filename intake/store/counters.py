"""Named sequences: the numbers in references such as PBR-0007."""
from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError

from intake.models import Counter
from intake.store.repository import Repository


class CounterRepository(Repository):
    async def next(self, name: str) -> int:
        """The next number in the named sequence, atomically (row lock / single writer)."""
        for _ in range(3):
            result = await self.session.execute(_NEXT, {"counter": name})
            value = result.scalar_one_or_none()
            if value is not None:
                return int(value)
            try:
                async with self.session.begin_nested():
                    self.session.add(Counter(name=name, value=1))
                return 1
            except IntegrityError:
                continue  # another transaction created it first: increment theirs
        raise RuntimeError(f"could not take a number from sequence {name!r}")


_NEXT = (  # every new entry takes a number: made once (docs/architecture.md, the store)
    update(Counter).where(Counter.name == bindparam("counter")).values(value=Counter.value + 1).returning(Counter.value)
)
