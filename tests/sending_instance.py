"""A second instance of the service that only sends, in a process of its own (for
tests/test_fenced_sends.py): built with create_service from the database and relay given
on its command line, with a short lease; it sends what is due, round after round, until
a round sends nothing, then says how many it sent and exits.

    python tests/sending_instance.py DATABASE_URL RELAY_PORT LEASE_SECONDS
"""
from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.runtime.composition import create_service  # noqa: E402
from intake.runtime.settings import Settings  # noqa: E402


async def main(database_url: str, relay_port: int, lease: float) -> None:
    settings = Settings(_env_file=None, database_url=database_url, relay_host="127.0.0.1", relay_port=relay_port,
                        from_address="CIB intake <eoi@cib.test>")
    runtime = create_service(settings)
    runtime.delivery.lease = timedelta(seconds=lease)
    sent = 0
    try:
        print("started", flush=True)
        while n := await runtime.delivery.deliver_due():
            sent += n
    finally:
        await runtime.store.close()
    print(f"sent {sent}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
