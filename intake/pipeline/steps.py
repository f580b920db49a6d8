"""The steps, each a small function over a `Run`. Their order is in `pipeline.py`.

`read`, `screen`, `authenticate`, `establish_sender` and `parse` run before the write
transaction (they take the most time; arriving messages must not wait behind them), and
all but `read` (attached documents are opened in worker processes) and `authenticate`
(DNS) are pure; `read`, and `parse` for a long text, work off the event loop. The rest
run inside it.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from intake.messages import NOT_PROVEN, Authentication, Notice
from intake.models import Enquiry
from intake.parsing import Parsed, parse_form, parse_message, parse_nomination_form
from intake.pipeline.confirm import ask_contacts
from intake.pipeline.follow_ups import completed_by
from intake.pipeline.kinds import KINDS, enquiry
from intake.pipeline.kinds.reply_views import common_context
from intake.pipeline.reply_limits import exceeded
from intake.pipeline.record_replies import record_outbound
from intake.pipeline.run import Run, Stop
from intake.pipeline.thread_entry import OPEN_TO_THE_THREAD, read_in_thread, thread_references


LONG_TEXT = 5_000  # characters: a longer text is parsed on a thread
# Threads of their own: the default executor's may all be waiting on DNS (authenticate).
_PARSING = ThreadPoolExecutor(2, thread_name_prefix="cib-parsing")


async def read(run: Run) -> None:
    """The stored row back into a message, by the reader its channel registered: the full
    one, which opens attached documents away from the event loop, when it has one."""
    channels = run.world.channels
    full = channels.full_readers.get(run.row.channel)
    run.message = await full(run.row) if full is not None else channels.readers[run.row.channel](run.row)


def screen(run: Run) -> None:
    """Auto-replies, bounces and other machines' mail are kept and never answered."""
    if run.msg.automatic:
        run.stop = Stop("ignored", "automatic", run.msg.automatic)


async def authenticate(run: Run) -> None:
    """What is proven about the sender, by the channel's authenticator (DKIM, SPF and
    DMARC for email; Slack's sign-in), judged once: processed again, a message keeps the
    result it had when it arrived (keys rotate, DNS changes)."""
    kept = Authentication.from_json(run.row.authentication)
    if kept is not None:
        run.authentication = kept
        return
    authenticator = run.world.channels.authenticators.get(run.row.channel)
    run.authentication = await authenticator(run.row) if authenticator else NOT_PROVEN


def establish_sender(run: Run) -> None:
    """Who sent it, and whether that is proven: the channel's reading (the From address,
    the Slack profile email) is a claim, proven only when its domain is the one the
    authentication established."""
    run.sender = run.msg.sender
    run.admin = run.msg.admin
    proof = run.authentication or NOT_PROVEN
    domain = (run.sender or "").rpartition("@")[2].lower()
    run.proven = proof.proven and bool(domain) and proof.domain == domain and not run.msg.sender_doubtful


# A kept message's meta key: the council and offer the CIB team said it is about, when it
# could not be processed as it came (see intake/team/triage.py).
ASSIGNED = "assigned"


async def parse(run: Run) -> None:
    message, world = run.msg, run.world
    form = message.form
    if message.confirms:
        run.parsed = Parsed(kind="confirmation")  # a reply to a confirmation request, nothing else
    elif form is None:
        text = _assigned(message.meta) + message.text
        parsing = partial(
            parse_message, message.subject, text, campaign=world.campaign, councils=world.councils,
            sender_name=message.sender_name, signature=message.signature,
        )
        # A long text (an email's documents can give 200,000 characters) takes seconds to
        # parse, which the event loop must not wait for; a short one costs less than the hop.
        long = len(text) > LONG_TEXT
        run.parsed = await asyncio.get_running_loop().run_in_executor(_PARSING, parsing) if long else parsing()
    elif form.kind == "nomination":
        draft = parse_nomination_form(form.values, campaign=world.campaign, councils=world.councils)
        run.parsed = Parsed(kind="nomination", nominations=[draft])
    else:
        assert form.offer is not None
        draft = parse_form(form.offer, form.values, campaign=world.campaign, councils=world.councils)
        run.parsed = Parsed(kind="submission", submissions=[draft])


def _assigned(meta: dict[str, Any]) -> str:
    """The team's assignment as the lines a sender would have written first."""
    given = meta.get(ASSIGNED) or {}
    lines = [f"{label}: {given[key]}" for key, label in (("offer", "Offer"), ("council", "Council")) if given.get(key)]
    return "".join(line + "\n" for line in lines)


async def limit_replies(run: Run) -> None:
    """Past a rate limit (this sender's, or everyone's), the message is processed but not
    answered, and the team hears of it."""
    row = run.row
    channel_limits = run.world.rate_limits.get(row.channel)
    if channel_limits is None:
        return
    sender_limits = channel_limits.sender if run.sender else ()  # an unknown sender has no count of its own
    totals, senders = await run.tx.inbound.counts_since(
        [row.received_at - limit.window for limit in channel_limits.total], before_id=row.id, channel=row.channel,
        sender=run.sender, sender_moments=[row.received_at - limit.window for limit in sender_limits],
    )
    for limits, counts, who in ((sender_limits, senders, f"from {run.sender}"),
                                (channel_limits.total, totals, "from everyone together")):
        hit = exceeded(limits, counts)
        if hit is not None:
            run.silenced = f"rate limit: more than {hit.describe()} {who}; kept and processed, not answered"
            if counts[limits.index(hit)] == hit.count:  # the team hears once, as the limit is crossed
                run.notices.append(Notice(f"Not answered ({run.silenced})"))
            return


async def follow_thread(run: Run) -> None:
    """A reply to one of our messages that names no reference is about the entries ours
    named (intake/pipeline/thread_entry.py)."""
    parsed, message, world = run.parsed, run.msg, run.world
    if parsed is None or parsed.references or not message.thread_ids or parsed.kind not in OPEN_TO_THE_THREAD:
        return
    references = thread_references(await run.tx.threads.ours(message.thread_ids), world.campaign)
    text = _assigned(message.meta) + message.text

    def reparse(named: str) -> Parsed:
        return parse_message(f"{message.subject} {named}", text, campaign=world.campaign, councils=world.councils,
                             sender_name=message.sender_name, signature=message.signature)

    run.parsed = read_in_thread(parsed, references, text, world.campaign, reparse)


async def recall_confirmations(run: Run) -> None:
    """The changes in this message that their contacts on record have confirmed."""
    if run.row.processed_at is None:  # asked for in the transaction that processed it: none yet
        return
    for confirmation in await run.tx.confirmations.for_inbound(run.row.id):
        if confirmation.status == "confirmed":
            run.confirmed.add(confirmation.target)
            run.confirmed_ids.append(confirmation.id)


async def match_follow_ups(run: Run) -> None:
    """A reply to our "what's missing" message completes the submission it was about."""
    if run.msg.form is None:
        await completed_by(run)


async def apply(run: Run) -> None:
    """The change the message asks for, by the module for its kind."""
    assert run.parsed is not None
    handle = KINDS.get(run.parsed.kind, enquiry.handle)
    await handle(run)
    context = common_context(run)
    for reply in run.replies:
        reply.context.update(context)


async def keep_questions(run: Run) -> None:
    """Questions asked in passing (an entry that also asks something) are kept as an
    enquiry for the team to answer, and the sender is told so in the same reply."""
    assert run.parsed is not None
    questions = run.parsed.questions
    if not questions:
        return
    row = run.row
    if await run.tx.enquiries.from_inbound(row.id) is None:
        await run.tx.add(Enquiry(sender=run.sender, channel=row.channel, text="\n".join(questions),
                                 received_at=row.received_at, inbound_id=row.id))
    for reply in run.replies:
        reply.context["questions"] = questions
    run.notices.append(Notice(f"Question from {run.sender or 'unknown sender'}: {' '.join(questions)[:140]}"))


async def request_confirmations(run: Run) -> None:
    """Each held change gets its one-time token, sent to the contact on record."""
    await ask_contacts(run)


async def record(run: Run) -> None:
    """Replies and team notices into the outbox, in this same transaction."""
    await record_outbound(run)
