"""Scheduled work: reminders before each deadline and the team's daily digest.

Planning is pure (`intake/reports/reminders.py`, `intake/reports/digest.py`); the jobs here read the facts,
record each message in the outbox under a unique send key and wake the dispatchers;
`scheduler.py` only decides when to call them. `cib remind` and `cib digest` call the
same jobs for any moment.
"""
from intake.jobs.job_deps import JobDeps
from intake.jobs.digest_job import send_digest
from intake.jobs.reminder_job import send_due_reminders
from intake.jobs.report import Planned, RunReport

__all__ = ["JobDeps", "Planned", "RunReport", "send_digest", "send_due_reminders"]
