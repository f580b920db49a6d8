"""One place wires everything: `create_service(settings)` builds the store, the intake
service, outbound delivery, the SMTP listener, the Slack bot and the scheduler; tests
build it with a temporary database and free ports."""
from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from intake.campaign import Campaign, load_campaign
from intake.councils import CouncilRegister, load_councils
from intake.db import upgrade
from intake.mail.compose import EmailReplies
from intake.mail.sender import Delivery, MaildirTransport, RelayTransport, Transport
from intake.mail.server import IntakeHandler, ProcessingQueue, start_smtp
from intake.render import Renderer
from intake.service import IntakeService, utcnow
from intake.settings import Settings
from intake.store import Store

log = logging.getLogger(__name__)


def make_transport(settings: Settings) -> Transport:
    if settings.relay_host:
        return RelayTransport(
            settings.relay_host,
            settings.relay_port,
            username=settings.relay_username,
            password=settings.relay_password,
            starttls=settings.relay_starttls,
        )
    return MaildirTransport(settings.outbox_dir)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    campaign: Campaign
    councils: CouncilRegister
    renderer: Renderer
    service: IntakeService
    delivery: Delivery
    queue: ProcessingQueue
    clock: Callable[[], datetime]
    smtp_server: asyncio.AbstractServer | None = None
    slack: Any = None
    scheduler: Any = None
    slack_poster: Any = None  # intake.schedule.SlackPoster, made when first needed
    _started: list[str] = field(default_factory=list)

    @property
    def smtp_port(self) -> int:
        assert self.smtp_server is not None
        return int(self.smtp_server.sockets[0].getsockname()[1])

    async def start(self, *, smtp: bool = True, slack: bool = True, scheduler: bool = True) -> None:
        await upgrade(self.store)
        # Pay the one-off costs (compiling templates, loading the bank holidays) before
        # the first message, not while a burst of them is arriving.
        self.renderer.preload()
        self.service.campaign.warm()
        self.queue.start()
        self.delivery.start()
        # Messages kept but not processed when we last stopped are processed now.
        async with self.store.reader() as unit:
            for inbound_id in await unit.inbound_ids(status="received"):
                self.queue.put(inbound_id)
        if smtp:
            handler = IntakeHandler(
                keep=self.service.keep, addresses=self.settings.intake_addresses, on_kept=self.queue.put
            )
            self.smtp_server = await start_smtp(
                handler,
                host=self.settings.smtp_host,
                port=self.settings.smtp_port,
                data_size_limit=self.settings.max_message_size,
            )
            log.info(
                "SMTP listening on %s:%s for %s",
                self.settings.smtp_host, self.smtp_port, ", ".join(self.settings.intake_addresses),
            )
        if slack:
            from bot.runner import start_slack

            self.slack = await start_slack(self.service, self.settings, renderer=self.renderer)
        if scheduler and self.settings.scheduler_enabled:
            try:
                from intake.schedule import start_scheduler
            except ImportError:
                start_scheduler = None
            if start_scheduler is not None:
                self.scheduler = await start_scheduler(self)
        # Everything built so far lives as long as the process: keep the garbage
        # collector from walking it again on every full collection (long pauses).
        gc.freeze()

    async def stop(self) -> None:
        if self.smtp_server is not None:
            self.smtp_server.close()
            await self.smtp_server.wait_closed()
        if self.slack is not None:
            await self.slack.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.queue.stop()
        await self.delivery.stop()
        await self.store.close()


def create_service(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] = utcnow,
    transport: Transport | None = None,
) -> Runtime:
    settings = settings or Settings()
    campaign = load_campaign(settings.config_dir / "campaign.toml")
    councils = load_councils(settings.config_dir / "councils.csv")
    store = Store.from_url(settings.database_url)
    renderer = Renderer(settings.templates_dir)
    from_address = settings.from_address
    delivery = Delivery(
        store,
        transport or make_transport(settings),
        envelope_sender=parseaddr(from_address)[1],
        clock=clock,
    )
    service = IntakeService(
        store=store,
        campaign=campaign,
        councils=councils,
        outbox=EmailReplies(renderer, from_address=from_address, clock=clock),
        clock=clock,
        intake_address=settings.intake_addresses[0] if settings.intake_addresses else "",
        on_outbound=delivery.wake,
    )
    # SQLite has one writer at a time; PostgreSQL can take several.
    workers = 1 if store.dialect == "sqlite" else 4
    queue = ProcessingQueue(service.process, workers=workers, busy=lambda: store.keeping)
    return Runtime(
        settings=settings,
        store=store,
        campaign=campaign,
        councils=councils,
        renderer=renderer,
        service=service,
        delivery=delivery,
        queue=queue,
        clock=clock,
    )
