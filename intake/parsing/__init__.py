"""Text in, a classified message out: submissions, nominations, a query, or an enquiry.

Pure functions (no I/O). The same parser serves email bodies (after intake.mail.extract has
turned the MIME message into new text), Slack messages (after bot.mrkdwn has made them plain
text) and Slack modal values.

Everything it recognises comes from the campaign (config/campaign.toml): offer aliases,
field labels and types, nomination roles, region labels and reference prefixes. The only
vocabulary of its own is the words people use around a form ("Offer:", "withdraw",
"when is the deadline").

The flow: message text -> parse_message (classify) -> `Parsed` (drafts) for the service.
On the way: label lines (lines), typed values (values), offers named (offers), references
and withdrawals (references), then submissions, nominations or queries. Modal values take
the forms route; the service then applies the rules.
"""
from intake.parsing.classify import parse_message
from intake.parsing.drafts import (
    FieldError,
    Kind,
    NominationDraft,
    Parsed,
    PersonDraft,
    Query,
    QueryKind,
    SubmissionDraft,
    Value,
)
from intake.parsing.forms import parse_form, parse_nomination_form
from intake.parsing.lines import iter_labels
from intake.parsing.offers import offers_in
from intake.parsing.queries import detect_query
from intake.parsing.references import find_references, reference_pattern
from intake.parsing.rules import apply_defaults, missing_required, name_at_least_one
from intake.parsing.values import parse_value

__all__ = [
    "FieldError",
    "Kind",
    "NominationDraft",
    "Parsed",
    "PersonDraft",
    "Query",
    "QueryKind",
    "SubmissionDraft",
    "Value",
    "apply_defaults",
    "detect_query",
    "find_references",
    "iter_labels",
    "missing_required",
    "name_at_least_one",
    "offers_in",
    "parse_form",
    "parse_message",
    "parse_nomination_form",
    "parse_value",
    "reference_pattern",
]
