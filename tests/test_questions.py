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


def test_a_note_to_a_colleague_is_not_a_question_for_us():
    body = ("Gemma – can you send this to the CIB please? Thanks, Sarah\n\n"
            "Hi Tom, could you forward this on to the team?\nCan you print this for me?\n"
            "What counts as a children's centre?")
    assert questions_in(body) == ["What counts as a children's centre?"]
    # Questions to us that merely mention sending are still questions.
    assert questions_in("Can you send us the form again?") == ["Can you send us the form again?"]
    assert questions_in("Will the CIB share this with the region?") == ["Will the CIB share this with the region?"]
