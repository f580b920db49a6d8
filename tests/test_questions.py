"""Questions asked in passing, found in a message's text (pure)."""
from __future__ import annotations

from intake.parsing.questions import questions_in


def test_questions_outside_label_lines_are_found_in_order():
    body = ("Council: Wigan\nWhat is this?: a label, not a question\n\n"
            "We would like to join. What counts as a children's centre?\nDo family hubs count too? Thanks.\n"
            "What counts as a children's centre?")
    assert questions_in(body) == ["What counts as a children's centre?", "Do family hubs count too?"]


def test_short_or_absent_questions_are_not_questions():
    assert questions_in("Council: Camden\nContact name: Jo?\nOK?\nThanks.") == []
    assert questions_in("") == []


def test_at_most_five_are_kept():
    body = " ".join(f"Is question {n} answered?" for n in range(9))
    assert len(questions_in(body)) == 5
