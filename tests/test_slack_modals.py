"""Modals: one per offer and one for the regional leads, built from config/campaign.toml;
the council type-ahead; inline errors on the field; a DM with the reference on submit."""
from __future__ import annotations

from slack_support.harness import CAMDEN, HULL, NO_EMAIL, slack  # noqa: F401
from slack_support.signing import (
    block_action,
    block_suggestion,
    command_form,
    view_submission,
)


async def open_modal(slack, user: str, text: str) -> dict:
    answer = await slack.send.command(command_form(user, text))
    assert answer.status == 200 and answer.text == ""
    await slack.settle()
    [call] = slack.api.calls_to("views.open")
    slack.api.reset()
    return call.view


def inputs(view: dict) -> dict[str, dict]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


async def test_offer_modal_has_the_campaigns_fields_and_required_marks(slack):
    view = await open_modal(slack, CAMDEN, "eoi pbr")
    assert view["type"] == "modal" and view["callback_id"] == "cib_offer_form"
    blocks = inputs(view)
    campaign = slack.runtime.campaign
    offer = campaign.offer("pbr-pathfinder")
    assert list(blocks) == [spec.key for spec in campaign.fields_for(offer)]
    for spec in campaign.fields_for(offer):
        assert blocks[spec.key]["optional"] is (not spec.required)
        assert blocks[spec.key]["label"]["text"] == spec.title
    assert blocks["council"]["element"]["type"] == "external_select"
    # Pre-filled from the Slack profile: the council (from the email domain), email, name.
    assert blocks["council"]["element"]["initial_option"]["value"] == "E09000007"
    assert blocks["contact_email"]["element"]["initial_value"] == "jo.bloggs@camden.gov.uk"
    assert blocks["contact_name"]["element"]["initial_value"] == "Jo Bloggs"
    assert blocks["centres"]["element"] == {
        "type": "number_input", "action_id": "value", "is_decimal_allowed": False, "min_value": "0",
    }
    assert "Thursday 27 May 2027, 5pm" in str(view["blocks"])


async def test_each_offer_has_a_modal(slack):
    for offer in slack.runtime.campaign.offers:
        view = await open_modal(slack, HULL, f"form {offer.short_title}")
        assert offer.title in view["blocks"][0]["text"]["text"]
    early = await open_modal(slack, HULL, "eoi early adopter")
    assert inputs(early)["cluster"]["element"]["type"] == "multi_external_select"
    assert inputs(early)["cluster"]["optional"] is True


async def test_council_type_ahead_is_fuzzy(slack):
    view = await open_modal(slack, NO_EMAIL, "eoi pbr")
    assert "initial_option" not in inputs(view)["council"]["element"]  # no email, no guess
    answer = await slack.send.interaction(block_suggestion(NO_EMAIL, view, "council", "camdn"))
    assert answer.status == 200
    options = answer.json()["options"]
    assert options[0] == {"text": {"type": "plain_text", "text": "London Borough of Camden", "emoji": False},
                          "value": "E09000007"}
    answer = await slack.send.interaction(block_suggestion(NO_EMAIL, view, "council", "kingston"))
    names = [o["text"]["text"] for o in answer.json()["options"]]
    assert names[:2] == ["Royal Borough of Kingston upon Thames", "Hull City Council"]
    answer = await slack.send.interaction(block_suggestion(NO_EMAIL, view, "council", ""))
    assert len(answer.json()["options"]) == 20


async def test_invalid_values_come_back_inline_on_the_field(slack):
    view = await open_modal(slack, CAMDEN, "eoi pbr")
    payload = view_submission(CAMDEN, view, {"centres": "-3", "contact_email": "not-an-email",
                                             "contact_role": "Head of early help"})
    answer = await slack.send.interaction(payload)
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"centres", "contact_email"}
    assert "at least 0" in body["errors"]["centres"]
    assert "not an email address" in body["errors"]["contact_email"]
    await slack.settle()
    assert (await slack.runtime.service.export())["submissions"] == []
    assert slack.api.count("chat.postMessage") == 0


async def test_submitted_modal_is_recorded_and_dmed_with_reference_and_summary(slack):
    view = await open_modal(slack, CAMDEN, "eoi pbr")
    payload = view_submission(CAMDEN, view, {"contact_role": "Head of early help", "centres": "9"})
    answer = await slack.send.interaction(payload)
    assert answer.status == 200 and answer.text == ""  # closes the modal
    await slack.settle()
    [dm] = slack.dm(CAMDEN)
    assert "PBR-0001" in dm["text"]
    text = dm.all_text()
    assert "Number of children's centres: 9" in text and "Head of early help" in text
    [submission] = (await slack.runtime.service.export())["submissions"]
    assert submission["fields"]["centres"] == 9
    assert submission["council_code"] == "E09000007"
    assert len(slack.team_notices()) == 1

    # The same submission delivered twice (a double click): one record, one DM.
    again = await slack.send.interaction(payload)
    assert again.status == 200
    await slack.settle()
    assert len(slack.dm(CAMDEN)) == 1
    assert len((await slack.runtime.service.export())["submissions"]) == 1


async def test_early_adopter_with_a_cluster(slack):
    view = await open_modal(slack, CAMDEN, "eoi early adopter")
    payload = view_submission(CAMDEN, view, {
        "contact_role": "DCS", "areas": "Early help & <b>edge</b> of care",
        "cluster": ["E09000012", "E09000019"],
    })
    assert (await slack.send.interaction(payload)).status == 200
    await slack.settle()
    [submission] = (await slack.runtime.service.export())["submissions"]
    assert submission["fields"]["cluster"] == ["E09000012", "E09000019"]
    text = slack.dm(CAMDEN)[0].all_text()
    assert "EA-0001" in text
    assert "Early help &amp; &lt;b&gt;edge&lt;/b&gt; of care" in text


async def test_nomination_modal_and_submission(slack):
    view = await open_modal(slack, HULL, "nominate")
    assert view["callback_id"] == "cib_nomination_form"
    blocks = inputs(view)
    roles = [role.key for role in slack.runtime.campaign.nomination.roles]
    assert list(blocks) == ["region"] + [f"{r}.{part}" for r in roles for part in ("name", "council", "email")]
    region = blocks["region"]["element"]
    assert [o["value"] for o in region["options"]][:2] == ["North East", "North West"]
    assert region["initial_option"]["value"] == "Yorkshire and The Humber"  # from Hull's email

    payload = view_submission(HULL, view, {
        "lead-dcs.name": "Dana Smith",
        "lead-dcs.council": {"text": {"type": "plain_text", "text": "Hull City Council"}, "value": "E06000010"},
        "lead-dcs.email": "dana.smith@hull.gov.uk",
    })
    answer = await slack.send.interaction(payload)
    assert answer.status == 200 and answer.text == ""
    await slack.settle()
    [dm] = slack.dm(HULL)
    text = dm.all_text()
    assert "RL-0001" in text and "Dana Smith" in text and "Yorkshire and The Humber" in text
    nominations = (await slack.runtime.service.export())["nominations"]
    assert [(n["role"], n["name"]) for n in nominations] == [("lead-dcs", "Dana Smith")]


async def test_nomination_with_nobody_named_is_an_inline_error(slack):
    view = await open_modal(slack, HULL, "nominate")
    answer = await slack.send.interaction(view_submission(HULL, view, {}))
    body = answer.json()
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == ["lead-member.name"]
    await slack.settle()
    assert (await slack.runtime.service.export())["nominations"] == []


async def test_nomination_bad_email_is_on_the_email_field(slack):
    view = await open_modal(slack, HULL, "nominate")
    answer = await slack.send.interaction(view_submission(HULL, view, {
        "lead-member.name": "Cllr Ann Other", "lead-member.email": "ann.other",
    }))
    body = answer.json()
    assert body["response_action"] == "errors"
    assert "lead-member.email" in body["errors"]


async def test_form_button_in_a_reply_opens_the_modal(slack):
    answer = await slack.send.interaction(block_action(CAMDEN, "open_form", "children-centres-support"))
    assert answer.status == 200
    await slack.settle()
    [call] = slack.api.calls_to("views.open")
    assert "support_needed" in inputs(call.view)


async def test_eoi_without_an_offer_offers_a_choice(slack):
    answer = await slack.send.command(command_form(CAMDEN, "eoi"))
    body = answer.json()
    values = [b["accessory"]["value"] for b in body["blocks"] if b.get("accessory")]
    assert values == [t.key for t in slack.runtime.campaign.targets()]


async def test_expired_trigger_tells_the_user(slack):
    slack.api.fail_next("views.open", error="expired_trigger_id")
    await slack.send.command(command_form(CAMDEN, "eoi pbr"))
    await slack.settle()
    [dm] = slack.dm(CAMDEN)
    assert "did not open in time" in dm.all_text()
