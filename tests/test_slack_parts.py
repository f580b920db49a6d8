"""The bot's pure parts: Slack markup to text, /cib words, modal state and errors, the
council type-ahead, the templates, and the app manifest."""
from __future__ import annotations

import json

import pytest
import yaml

from bot.commands import Command, parse_command, resolve_target
from bot.modal_forms import (
    NOMINATION_CALLBACK,
    OFFER_CALLBACK,
    form_input,
    inline_errors,
    state_values,
)
from bot.mrkdwn import mrkdwn_escape, plain_text
from bot.fitting import MAX_BLOCKS, fit_message, pages
from bot.slack_views import SlackViews
from intake.campaign.definition import load_campaign
from intake.campaign.register import load_councils
from intake.messages import Reply
from intake.runtime.settings import DEFAULT_CONFIG_DIR, DEFAULT_TEMPLATES_DIR

CONFIG = DEFAULT_CONFIG_DIR
CAMPAIGN = load_campaign(CONFIG / "campaign.toml")
COUNCILS = load_councils(CONFIG / "councils.csv")


@pytest.mark.parametrize(
    ("slack", "typed"),
    [
        ("<@UBOT> when is the PbR deadline?", "when is the PbR deadline?"),
        ("<@UBOT|cib> status", "status"),
        ("Contact email: <mailto:jo@camden.gov.uk|jo@camden.gov.uk>", "Contact email: jo@camden.gov.uk"),
        ("see <https://example.org/a?b=1&amp;c=2>", "see https://example.org/a?b=1&c=2"),
        ("see <https://example.org|the site>", "see the site"),
        ("ask <@U0HULL001> or <#C123|general>", "ask @U0HULL001 or #general"),
        ("<!here> &lt;b&gt; Tom &amp; Jerry", "@here <b> Tom & Jerry"),
        ("Council: Camden\n\n  Contact name:  Jo  \n", "Council: Camden\n\nContact name:  Jo"),
        ("", ""),
    ],
)
def test_plain_text(slack, typed):
    assert plain_text(slack, bot_user_id="UBOT") == typed


def test_mrkdwn_escape_neutralises_pings_and_links():
    assert mrkdwn_escape("<!channel> & <@U1> <http://x|y>") == "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;http://x|y&gt;"
    assert mrkdwn_escape("@here @Everyone @channel") == "@\u2060here @\u2060Everyone @\u2060channel"
    assert mrkdwn_escape("jo@channel.org @channels") == "jo@channel.org @channels"
    assert mrkdwn_escape(None) == ""


@pytest.mark.parametrize(
    ("words", "command"),
    [
        ("", Command("service", "help")),
        ("HELP", Command("service", "help")),
        ("deadlines", Command("service", "deadlines")),
        ("status", Command("service", "status")),
        ("form pbr", Command("offer_modal", offer="pbr-pathfinder")),
        ("eoi Payment by results", Command("offer_modal", offer="pbr-pathfinder")),
        ("eoi sure start", Command("offer_modal", offer="children-centres-support")),
        ("eoi early adoptr", Command("offer_modal", offer="early-adopter")),
        ("eoi", Command("choose_offer")),
        ("form regional leads", Command("nomination_modal")),
        ("nominate", Command("nomination_modal")),
        ("form something else", Command("service", "form for something else")),
        ("withdraw pbr-0007", Command("service", "withdraw PBR-0007")),
        ("withdraw PBR-0007 and EA-0002", Command("service", "withdraw PBR-0007 EA-0002")),
        ("digest", Command("digest")),
        ("export", Command("export")),
        ("what is this", Command("service", "help")),
    ],
)
def test_parse_command(words, command):
    assert parse_command(words, CAMPAIGN) == command


def test_resolve_target_uses_the_campaigns_names():
    for offer in CAMPAIGN.offers:
        assert resolve_target(CAMPAIGN, offer.key) == offer.key
        assert resolve_target(CAMPAIGN, offer.reference_prefix.lower()) == offer.key
        for alias in offer.aliases:
            assert resolve_target(CAMPAIGN, alias) == offer.key
    assert resolve_target(CAMPAIGN, "nonsense words") is None


def test_state_values_and_form_input():
    view = {
        "callback_id": OFFER_CALLBACK,
        "private_metadata": json.dumps({"kind": "offer", "offer": "early-adopter"}),
        "state": {"values": {
            "council": {"value": {"type": "external_select", "selected_option": {"value": "E09000007"}}},
            "cluster": {"value": {"type": "multi_external_select", "selected_options": [{"value": "E09000001"}, {"value": "E09000012"}]}},
            "contact_name": {"value": {"type": "plain_text_input", "value": "  Jo  "}},
            "contact_email": {"value": {"type": "email_text_input", "value": None}},
            "areas": {"value": {"type": "plain_text_input", "value": "SEND"}},
        }},
    }
    assert state_values(view) == {
        "council": "E09000007", "cluster": "E09000001, E09000012", "contact_name": "Jo",
        "contact_email": "", "areas": "SEND",
    }
    form = form_input(view, CAMPAIGN)
    assert form is not None and form.kind == "offer" and form.offer == "early-adopter"
    assert form.values["contact_role"] == "" and form.values["council"] == "E09000007"
    nomination = form_input({"callback_id": NOMINATION_CALLBACK, "state": {"values": {}}}, CAMPAIGN)
    assert nomination is not None and nomination.kind == "nomination"
    assert set(nomination.values) == {"region"} | {
        f"{r.key}.{p}" for r in CAMPAIGN.nomination.roles for p in ("name", "council", "email")
    }
    assert form_input({"callback_id": "someone-else"}, CAMPAIGN) is None
    bad = {"callback_id": OFFER_CALLBACK, "private_metadata": "not json"}
    assert form_input(bad, CAMPAIGN) is None


def test_inline_errors_always_land_on_a_block():
    blocks = ["region", "lead-member.name", "lead-member.email", "lead-dcs.name"]
    assert inline_errors({"region": "Which region?"}, blocks) == {"region": "Which region?"}
    assert inline_errors({"lead-dcs": "Name needed"}, blocks) == {"lead-dcs.name": "Name needed"}
    assert inline_errors({"roles": "Name one"}, blocks) == {"lead-member.name": "Name one"}
    assert inline_errors({"offer": "Which offer?", "region": "Which region?"}, blocks) == {
        "region": "Which offer? Which region?"
    }
    assert inline_errors({"x": "y"}, []) == {}


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("camden", "London Borough of Camden"),
        ("Camdn", "London Borough of Camden"),
        ("brist", "Bristol City Council"),
        ("tower ham", "London Borough of Tower Hamlets"),
        ("Manchestr", "Manchester City Council"),
        ("E09000007", "London Borough of Camden"),
        ("hull", "Hull City Council"),
    ],
)
def test_council_search(typed, first):
    assert COUNCILS.search(typed)[0].name == first


def test_council_search_limits_and_empty():
    assert len(COUNCILS.search("", limit=20)) == 20
    assert COUNCILS.search("", limit=5) == sorted(COUNCILS.councils, key=lambda c: c.name)[:5]
    assert COUNCILS.search("zzzqqq") == []
    assert COUNCILS.search("west", limit=0) == []
    assert len(COUNCILS.search("council", limit=100)) == 100


# --- templates ------------------------------------------------------------------------------


def _views() -> SlackViews:
    return SlackViews(templates_dir=DEFAULT_TEMPLATES_DIR)


def test_a_long_message_is_split_never_cut():
    lines = [f"• PBR-{n:04d} from council {n}" for n in range(600)]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}} for _ in range(10)]
    posts = pages({"text": "y" * 50000, "blocks": blocks})
    assert len(posts) > 1 and all(len(p["blocks"]) <= MAX_BLOCKS for p in posts)
    sections = [b["text"]["text"] for p in posts for b in p["blocks"]]
    assert all(len(text) <= 3000 for text in sections)
    # Every line is there, in order, each once per section it came from, none cut.
    assert "\n".join(sections).split("\n") == lines * 10
    assert len(posts[0]["text"]) < 4000 and posts[1]["text"].startswith("(continued)")
    assert posts[0]["blocks"][0]["text"]["verbatim"] is True
    assert fit_message({"text": "t", "blocks": blocks})["blocks"] == [b for p in posts for b in p["blocks"]]


def test_unknown_reply_kind_still_answers():
    message = _views().reply(Reply("something-new", {"team_name": "CIB programme team"}))
    assert "received your message" in message["text"]


def test_a_broken_context_still_answers():
    message = _views().reply(Reply("ack", {}))
    assert "received your message" in message["text"]


def test_every_slack_template_has_a_known_context_or_is_a_reply_kind():
    names = {p.name.removesuffix(".json.j2") for p in (DEFAULT_TEMPLATES_DIR / "slack").glob("*.json.j2")}
    # Confirmation requests, the answers to replies carrying their tokens, and the team's
    # sign-in links are email only.
    reply_kinds = {p.name.removesuffix(".txt.j2") for p in (DEFAULT_TEMPLATES_DIR / "email").glob("*.txt.j2")
                   if not p.name.startswith(("_", "confirm", "sign_in")) and "subject" not in p.name}
    assert reply_kinds <= names, f"no Slack template for {reply_kinds - names}"


def test_modals_render_within_slacks_limits():
    from bot.modal_forms import Prefill, nomination_modal_context, offer_modal_context

    views = _views()
    prefill = Prefill(email="jo@camden.gov.uk", name="Jo", council=COUNCILS.get("E09000007"))
    for offer in CAMPAIGN.offers:
        view = views.modal("modal_offer", offer_modal_context(
            CAMPAIGN, offer.key, prefill=prefill, deadline="soon", metadata={"origin": "C1"}))
        assert len(view["title"]["text"]) <= 24 and len(view["blocks"]) <= 100
        assert len(view["private_metadata"]) <= 3000
        assert json.loads(view["private_metadata"])["offer"] == offer.key
    view = views.modal("modal_nomination", nomination_modal_context(
        CAMPAIGN, prefill=prefill, deadline="soon", metadata={}))
    assert len(view["title"]["text"]) <= 24
    region = next(b for b in view["blocks"] if b.get("block_id") == "region")
    assert region["element"]["initial_option"]["value"] == "London"


# --- the manifest ----------------------------------------------------------------------------


def test_manifest_subscribes_to_what_the_bot_handles():
    manifest = yaml.safe_load((CONFIG / "slack-manifest.yml").read_text())
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    urls = [settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"],
            settings["interactivity"]["message_menu_options_url"],
            *[c["url"] for c in manifest["features"]["slash_commands"]]]
    assert all(url.endswith("/slack/events") for url in urls)
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/cib"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "im:history", "im:write", "users:read", "users:read.email",
            "files:write", "app_mentions:read"} <= scopes
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
