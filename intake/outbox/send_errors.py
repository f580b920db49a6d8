"""What a carrier may raise besides a failure worth trying again (`intake/outbox/dispatch.py`
retries anything else with the shared backoff)."""
from __future__ import annotations


class Refused(Exception):
    """The channel refused this message for good (an SMTP 5xx for it or its recipient,
    a Slack channel that does not exist): it is not tried again, and the team sees it
    where failed sends are shown. Not for a fault of our own set-up (a wrong password or
    token), which every message would meet: that is retried, for once it is put right."""


class LeaseLost(Exception):
    """Our claim on a send has run out or another worker has taken it over: the message
    was not handed over here, and is left to whoever holds it now."""
