"""The composition root: `create_service(settings)` builds the store, the channels (the
only place `bot` is imported), the pipeline behind the intake service, the outbox
dispatchers, the SMTP listener, the Slack bot and the scheduler; tests build it with a
temporary database and free ports."""
from __future__ import annotations

import asyncio
import gc
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot.composer import SlackReplies
from bot.posting import SlackCarrier
from bot.slack_reader import read_slack_row, slack_authentication
from bot.mrkdwn import FILTERS as SLACK_FILTERS
from bot.slack_views import SlackViews
from intake.campaign.definition import Campaign, load_campaign
from intake.campaign.contacts import load_contacts
from intake.campaign.register import CouncilRegister, load_councils
from intake.runtime.schema import upgrade
from intake.jobs import JobDeps
from intake.jobs.scheduler import Scheduler, start_scheduler
from intake.mail.authenticate import EmailAuthenticator, configure_dns
from intake.mail.compose import EmailReplies
from intake.mail.document_limits import WORKER_LIMITS, WorkerLimits
from intake.mail.pool import DocumentPool
from intake.mail.mail_reader import EmailReader, read_email_row
from intake.mail.sender import EmailCarrier, MaildirTransport, RelayTransport, Transport
from intake.mail.server import IntakeHandler, ProcessingQueue, start_smtp, tls_context
from intake.mail.imap_url import parse_imap_url
from intake.mail.mailbox import MailboxFetcher, mailbox_count
from intake.mail.oauth_tokens import TokenSource, token_source
from intake.runtime.freed_memory import give_back, limit_arenas
from intake.runtime.health import CONTENT_TYPE, Operations
from intake.outbox.outage import Outage
from intake.outbox.channels import Channels
from intake.outbox.dispatch import Dispatcher
from intake.pipeline.reply_limits import RateLimits, parse_limits
from intake.render import Renderer
from intake.service import IntakeService, utcnow
from intake.runtime.settings import Settings, secret
from intake.store import Store
from intake.team import TeamDesk, Triage
from intake.team.personal_desk import PersonalDesk
from workspace.web_app import mount as mount_workspace
from workspace.page_deps import Deps as WorkspaceDeps
from workspace.sign_in_limits import networks

log = logging.getLogger(__name__)

RECOVER_EVERY = 30.0  # seconds between sweeps for messages a fault left unprocessed
STUCK_AFTER = timedelta(minutes=1)  # kept this long and still not processed: a fault stopped it


def make_transport(settings: Settings) -> Transport:
    if settings.relay_host:
        return RelayTransport(
            settings.relay_host,
            settings.relay_port,
            username=settings.relay_username,
            password=secret(settings.relay_password),
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
    delivery: Dispatcher  # email
    queue: ProcessingQueue
    clock: Callable[[], datetime]
    jobs: JobDeps
    team: TeamDesk
    triage: Triage
    operations: Operations
    email_reader: EmailReader  # opens attached documents in worker processes
    slack_poster: Dispatcher | None = None  # Slack, when a bot token is set
    smtp_server: asyncio.AbstractServer | None = None
    slack: Any = None  # bot.runner.SlackRunner, when Slack is configured
    workspace: WorkspaceDeps | None = None  # the team's pages under /team/
    personal: PersonalDesk | None = None  # a person's data: find, export, erase
    http: web.AppRunner | None = None  # the HTTP server: the workspace, the Slack endpoint, /healthz
    http_port: int | None = None
    _recovery: asyncio.Task[None] | None = None
    scheduler: Scheduler | None = None
    mailbox: MailboxFetcher | None = None  # mail read from an existing mailbox, when CIB_IMAP_URL is set
    _started: list[str] = field(default_factory=list)

    @property
    def smtp_port(self) -> int:
        assert self.smtp_server is not None
        return int(self.smtp_server.sockets[0].getsockname()[1])

    @property
    def dispatchers(self) -> list[Dispatcher]:
        return [d for d in (self.delivery, self.slack_poster) if d is not None]

    def wake(self) -> None:
        """Something was recorded in the outbox: every dispatcher looks."""
        for dispatcher in self.dispatchers:
            dispatcher.wake()

    async def deliver_now(self, *, each: Callable[[int], None] | None = None) -> tuple[int, int]:
        """Send everything due now and wait for it (the CLI, which exits afterwards):
        (emails, Slack posts). `each` hears of every round's count (a progress bar)."""
        counts = []
        for dispatcher in (self.delivery, self.slack_poster):
            if dispatcher is not None:
                await dispatcher.release_dead()
            sent = 0
            while dispatcher is not None and (n := await dispatcher.deliver_due()):
                sent += n
                if each is not None:
                    each(n)
            counts.append(sent)
        return counts[0], counts[1]

    async def start(
        self, *, smtp: bool = True, slack: bool = True, scheduler: bool = True, http: bool = True
    ) -> None:
        limit_arenas()  # before the threads below make arenas of their own
        await upgrade(self.store)
        # Pay the one-off costs (compiling templates, loading the bank holidays) before
        # the first message, not while a burst of them is arriving.
        self.renderer.preload()
        self.service.campaign.warm()
        await asyncio.to_thread(self.email_reader.start)
        self.queue.start()
        for dispatcher in self.dispatchers:
            await dispatcher.release_dead()
            dispatcher.start()
        # Messages kept but not processed when we last stopped are processed now.
        async with self.store.reader() as unit:
            for inbound_id in await unit.inbound.ids(status="received"):
                self.queue.put(inbound_id)
        # With a mailbox to read, CIB_SMTP_PORT=0 means no SMTP listener (otherwise: any free port).
        if smtp and not (self.mailbox is not None and self.settings.smtp_port == 0):
            await self._start_smtp()
        if smtp and self.mailbox is not None:
            self.mailbox.start()
        root = web.Application(client_max_size=4 * 1024 * 1024)
        if slack:
            from bot.runner import start_slack

            self.slack = await start_slack(
                self.service, self.settings, renderer=self.renderer, poster=self.slack_poster, http=root,
                team=self.team,
            )
        if http or (self.slack is not None and self.slack.mode == "http"):
            await self._start_http(root, workspace=http)
        if scheduler and self.settings.scheduler_enabled:
            self.scheduler = await start_scheduler(self.jobs)
            self.operations.scheduler = lambda: (self.scheduler.leader, self.scheduler.last_run) if self.scheduler else None
        self._recovery = asyncio.create_task(self._recover(), name="recovery")
        # Everything built so far lives as long as the process: keep the garbage
        # collector from walking it again on every full collection (long pauses).
        gc.freeze()

    async def recover_once(self) -> int:
        """Queue again what a fault left behind: messages kept but never processed, and
        failed ones whose backoff is over. Runs every half minute while the service does."""
        async with self.store.reader() as unit:
            due = await unit.inbound.to_retry(self.clock(), stuck_after=STUCK_AFTER)
        for inbound_id, again in due:
            self.queue.put(inbound_id, again=again)
        return len(due)

    async def _recover(self) -> None:
        outage = Outage(log, "looking for messages to process again")
        while True:
            await asyncio.sleep(RECOVER_EVERY)
            try:
                await self.recover_once()
                outage.worked()
            except Exception as error:  # noqa: BLE001 - the store is down: next time
                outage.failed(error)
            # What big messages freed goes back to the system, not kept as RSS for good.
            await asyncio.to_thread(give_back)

    async def _start_http(self, root: web.Application, *, workspace: bool) -> None:
        """One HTTP server for the team's workspace (/team/) and, in Slack's HTTP mode,
        the Slack endpoint (/slack/events)."""
        async def health(request: web.Request) -> web.Response:
            healthy, report = await self.operations.health()
            if self.slack is not None:
                report["slack"] = {"pending": len(self.slack.background)}
            return web.json_response(report, status=200 if healthy else 503, headers={"Cache-Control": "no-store"})

        async def metrics(request: web.Request) -> web.Response:
            try:
                body = await self.operations.metrics()
            except Exception:  # noqa: BLE001 - the database is away: /healthz says so
                return web.Response(status=503, text="database unavailable\n")
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

        root.router.add_get("/healthz", health)
        root.router.add_get("/metrics", metrics)
        if workspace and self.workspace is not None:
            mount_workspace(root, self.workspace, self.settings.templates_dir, personal=self.personal)
        self.http = web.AppRunner(root, access_log=None, shutdown_timeout=5.0, logger=_http_log)
        await self.http.setup()
        site = web.TCPSite(self.http, self.settings.http_host, self.settings.http_port)
        await site.start()
        self.http_port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        if self.slack is not None and self.slack.mode == "http":
            self.slack.host, self.slack.port = self.settings.http_host, self.http_port
        if self.workspace is not None and not self.settings.web_url:
            self.workspace.base_url = f"http://{self.settings.http_host}:{self.http_port}"
        log.info("HTTP listening on http://%s:%s (the team's workspace at /team/)", self.settings.http_host,
                 self.http_port)

    async def _start_smtp(self) -> None:
        settings = self.settings
        handler = IntakeHandler(
            keep=self.service.keep, addresses=settings.intake_addresses, on_kept=self.queue.put
        )
        tls = None
        if settings.smtp_tls_cert and settings.smtp_tls_key:
            tls = tls_context(settings.smtp_tls_cert, settings.smtp_tls_key)
        self.smtp_server = await start_smtp(
            handler, host=settings.smtp_host, port=settings.smtp_port, data_size_limit=settings.max_message_size,
            tls=tls, require_tls=settings.smtp_require_tls,
        )
        log.info(
            "SMTP listening on %s:%s for %s",
            self.settings.smtp_host, self.smtp_port, ", ".join(self.settings.intake_addresses),
        )

    async def stop(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
            self._recovery = None
        if self.mailbox is not None:
            await self.mailbox.stop()
        if self.smtp_server is not None:
            self.smtp_server.close()
            await self.smtp_server.wait_closed()
        if self.http is not None:
            # Closes the port; requests being handled (and acked) finish first.
            await self.http.cleanup()
            self.http = None
        if self.slack is not None:
            await self.slack.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.queue.stop()
        await asyncio.to_thread(self.email_reader.close)
        for dispatcher in self.dispatchers:
            await dispatcher.stop()
        await self.store.close()


class _NotHttp(logging.Filter):
    """A request aiohttp cannot read as HTTP (a line too long, a broken header) is answered
    400: the client's doing, worth a line, not a traceback anyone could fill the log with."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = f"{record.getMessage()}: {type(error).__name__} (answered 400)", ()
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_http_log = logging.getLogger("intake.http")
_http_log.addFilter(_NotHttp())


def template_filters() -> dict[str, Any]:
    """The channels' own template filters (Slack's mrkdwn escaping), for `cib check`."""
    return dict(SLACK_FILTERS)


def _channels(
    settings: Settings, renderer: Renderer, clock: Callable[[], datetime], email_reader: EmailReader
) -> Channels:
    """Each channel's reader and outbox; Slack's outbox (and the team's notices) only with
    a bot token."""
    channels = Channels()
    email = EmailReplies(
        renderer, from_address=settings.from_address, clock=clock, intake_address=settings.intake_addresses[0]
    )
    configure_dns(settings.dns_servers, settings.dns_timeout)
    authenticator = EmailAuthenticator(
        trusted_ids=settings.authserv_id, authserv_id=_authserv_id(settings), timeout=settings.dns_timeout
    )
    channels.register(
        "email", reader=read_email_row, full_reader=email_reader, composer=email, authenticator=authenticator
    )
    channels.confirmations = email  # confirmation requests go by email, whatever the change came by
    slack = None
    if settings.slack_bot_token:
        slack = SlackReplies(team_channel=settings.team_slack_channel, clock=clock)
    channels.register("slack", reader=read_slack_row, composer=slack, authenticator=slack_authentication)
    if slack is not None and settings.team_slack_channel:
        channels.notices = slack
    return channels


def _mailbox(settings: Settings, service: IntakeService, queue: ProcessingQueue,
             clock: Callable[[], datetime]) -> MailboxFetcher | None:
    if not settings.imap_url:
        return None
    target = parse_imap_url(settings.imap_url)
    return MailboxFetcher(
        target=target, secret=_mailbox_secret(settings, target.user),
        done_mailbox=settings.imap_done_mailbox, keep=service.keep, on_kept=queue.put, clock=clock,
        poll_seconds=settings.imap_poll_seconds,
    )


def _mailbox_secret(settings: Settings, user: str) -> str | TokenSource:
    """The mailbox's password, or its OAuth provider's token source."""
    if settings.imap_oauth_provider is None:
        return secret(settings.imap_password) or ""
    return token_source(
        settings.imap_oauth_provider, user=user, tenant=settings.imap_oauth_tenant,
        client_id=settings.imap_oauth_client_id, client_secret=secret(settings.imap_oauth_client_secret),
        service_account_file=settings.imap_oauth_service_account_file, token_url=settings.imap_oauth_token_url)


def mailbox_check(settings: Settings) -> tuple[bool, str, bool] | None:
    """`cib check`: (ok, what was found, only a warning) for the mailbox; None without one.
    A server out of reach is a warning (it may be back by the time the service runs); a
    refused login, a bad address or no TLS is a failure."""
    if not settings.imap_url:
        return None
    try:
        target = parse_imap_url(settings.imap_url)
    except ValueError as error:
        return False, f"CIB_IMAP_URL: {error}", False
    try:
        count = mailbox_count(target, _mailbox_secret(settings, target.user))
    except ssl.SSLError as error:  # a certificate that does not verify is no passing outage
        return False, f"{target.shown()}: TLS failed ({error})", False
    except OSError as error:
        return True, f"{target.shown()}: could not be reached ({error or type(error).__name__})", True
    except Exception as error:  # noqa: BLE001 - refused: say exactly what the server said
        return False, f"{target.shown()}: {error}", False
    return True, f"{target.shown()}: logged in, {count} message(s) waiting", False


def _authserv_id(settings: Settings) -> str:
    """Our own name in the Authentication-Results we write: the intake address's domain."""
    return settings.intake_addresses[0].rpartition("@")[2] or "cib-intake"


def _slack_poster(
    settings: Settings, store: Store, renderer: Renderer, clock: Callable[[], datetime]
) -> Dispatcher | None:
    if not settings.slack_bot_token:
        return None
    from bot.runner import make_client

    carrier = SlackCarrier(lambda session: make_client(settings, session=session), views=SlackViews(renderer))
    # Paced per channel: a round of 50 posts to one channel takes most of a minute.
    # Posts to different channels go out side by side; the carrier paces each channel.
    return Dispatcher(
        store, carrier, channel="slack", clock=clock, round_size=50,
        idle_seconds=settings.slack_post_interval_seconds, concurrency=8,
    )


def create_service(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] = utcnow,
    transport: Transport | None = None,
    document_limits: WorkerLimits = WORKER_LIMITS,
) -> Runtime:
    settings = settings or Settings()
    campaign = load_campaign(settings.config_dir / "campaign.toml")
    councils = load_councils(settings.config_dir / "councils.csv")
    store = Store.from_url(settings.database_url, timeouts=settings.timeouts())
    renderer = Renderer(settings.templates_dir, filters=SLACK_FILTERS)
    # Every acknowledgement links to the privacy notice (templates/email/_privacy.txt.j2).
    renderer.env.globals["privacy_notice_url"] = settings.privacy_notice_url
    carrier = EmailCarrier(transport or make_transport(settings), envelope_sender=parseaddr(settings.from_address)[1])
    delivery = Dispatcher(store, carrier, channel="email", clock=clock)
    slack_poster = _slack_poster(settings, store, renderer, clock)
    email_reader = EmailReader(DocumentPool(document_limits))
    channels = _channels(settings, renderer, clock, email_reader)
    dispatchers = [d for d in (delivery, slack_poster) if d is not None]

    def wake(channels: set[str] | None = None) -> None:
        for dispatcher in dispatchers:
            if channels is None or dispatcher.channel in channels:
                dispatcher.wake()

    intake_address = settings.intake_addresses[0] if settings.intake_addresses else ""
    service = IntakeService(
        store=store, campaign=campaign, councils=councils, channels=channels, clock=clock,
        intake_address=intake_address, on_outbound=wake,
        # Inbound mail is limited; Slack has limits of its own.
        rate_limits={
            "email": RateLimits(parse_limits(settings.sender_rate_limits), parse_limits(settings.total_rate_limits))
        },
        contacts=lambda: load_contacts(settings.contacts_file or settings.config_dir / "contacts.csv", councils),
    )
    # SQLite has one writer at a time; PostgreSQL can take several.
    workers = 1 if store.dialect == "sqlite" else 4
    operations = Operations(store, clock=clock)
    queue = ProcessingQueue(operations.timed(service.prepare), workers=workers, busy=lambda: store.keeping)
    operations.queued = queue.queue.qsize
    mailbox = _mailbox(settings, service, queue, clock)
    if mailbox is not None:
        operations.mailbox = mailbox.state.report
    jobs = JobDeps(
        store=store, campaign=campaign, councils=councils, renderer=renderer, settings=settings, clock=clock,
        intake_address=intake_address, composers=channels.composers, wake=wake,
    )
    team = TeamDesk(store, service.world, on_outbound=wake)
    triage = Triage(store, service.world, reprocess=lambda inbound_id: service.process(inbound_id, again=True),
                    on_outbound=wake)
    workspace = WorkspaceDeps(
        service=service, team=team, triage=triage, renderer=renderer, mail=channels.composers["email"],
        team_emails=frozenset(address.lower() for address in settings.team_emails),
        base_url=settings.web_url or f"http://{settings.http_host}:{settings.http_port}", wake=wake,
        trusted_proxies=networks(settings.trusted_proxies),
    )
    return Runtime(
        settings=settings, store=store, campaign=campaign, councils=councils, renderer=renderer,
        service=service, delivery=delivery, queue=queue, clock=clock, jobs=jobs, slack_poster=slack_poster,
        team=team, triage=triage, workspace=workspace, operations=operations, email_reader=email_reader,
        mailbox=mailbox,
        personal=PersonalDesk(store, campaign, councils, clock=clock,
                              outbox_dir=None if settings.relay_host else settings.outbox_dir),
    )
