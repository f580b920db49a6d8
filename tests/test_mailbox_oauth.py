"""OAuth 2.0 for the mailbox channel: the token requests Microsoft and Google document,
asked of a local stand-in (tests/dovecot.py TokenStandIn); the settings that choose them;
and XOAUTH2 logins to Dovecot's oauth2 passdb, which asks the stand-in about each token."""
from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import ValidationError

from intake.mail import mailbox as mailbox_module
from intake.mail import oauth_tokens
from intake.mail.imap_session import xoauth2
from intake.mail.oauth_tokens import GoogleTokens, MicrosoftTokens, TokenRefused
from intake.runtime.composition import create_service, mailbox_check
from intake.runtime.settings_load import settings_problems
from tests.dovecot import USER, Dovecot, TokenStandIn, oauth_dovecot, token_standin  # noqa: F401 - fixtures
from tests.mailer import message, settle, stamp
from tests.test_mailbox import PBR, wait_for

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "66666666-7777-8888-9999-000000000000"
SERVICE_ACCOUNT = "cib-intake@cib-project.iam.gserviceaccount.com"


def service_account_file(folder: Path, *, token_uri: str = "https://oauth2.googleapis.com/token") -> tuple[Path, Any]:
    """A service account's JSON key as the Google Cloud console writes it, and its public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = folder / "service-account.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "cib-project", "private_key_id": "k1", "private_key": pem,
        "client_email": SERVICE_ACCOUNT, "client_id": "1234567890", "token_uri": token_uri,
    }))
    return path, key.public_key()


def _part(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# The token requests, as the providers document them.

def test_microsoft_client_credentials_request(token_standin: TokenStandIn) -> None:  # noqa: F811
    tokens = MicrosoftTokens(TENANT, CLIENT_ID, "s3cret~value", token_url=token_standin.token_url)
    token = tokens.access_token()
    assert token_standin.requests == [{
        "client_id": CLIENT_ID, "client_secret": "s3cret~value", "scope": "https://outlook.office365.com/.default",
        "grant_type": "client_credentials"}]
    assert token.value in token_standin.issued and 3590 < token.expires_at - time.monotonic() <= 3600
    assert tokens.access_token() == token  # kept while it is good
    assert len(token_standin.requests) == 1
    assert "s3cret" not in repr(tokens.access_token())


def test_microsoft_token_endpoint_is_the_tenants() -> None:
    assert MicrosoftTokens("contoso.onmicrosoft.com", CLIENT_ID, "x").url == \
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"


def test_a_token_about_to_expire_is_replaced(token_standin: TokenStandIn) -> None:  # noqa: F811
    token_standin.expires_in = 200  # within REFRESH_BEFORE (300 s) of expiring when issued
    tokens = MicrosoftTokens(TENANT, CLIENT_ID, "x", token_url=token_standin.token_url)
    first, second = tokens.access_token(), tokens.access_token()
    assert first.value != second.value and len(token_standin.requests) == 2


def test_a_refused_token_request_says_why(token_standin: TokenStandIn) -> None:  # noqa: F811
    token_standin.refuse = "invalid_client"
    with pytest.raises(TokenRefused, match="invalid_client: refused by the stand-in"):
        MicrosoftTokens(TENANT, CLIENT_ID, "wrong", token_url=token_standin.token_url).access_token()


def test_an_unreachable_token_endpoint_is_tried_again_later() -> None:
    from tests.dovecot import free_port

    with pytest.raises(ConnectionError):
        MicrosoftTokens(TENANT, CLIENT_ID, "x", token_url=f"http://127.0.0.1:{free_port()}/token").access_token()


def test_google_service_account_jwt_grant(tmp_path: Path, token_standin: TokenStandIn) -> None:  # noqa: F811
    path, public_key = service_account_file(tmp_path)
    before = time.time()
    token = GoogleTokens(path, "eoi@council.example", token_url=token_standin.token_url).access_token()
    [form] = token_standin.requests
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    header, claims, signature = form["assertion"].split(".")
    assert json.loads(_part(header)) == {"alg": "RS256", "typ": "JWT", "kid": "k1"}
    public_key.verify(_part(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    claimed = json.loads(_part(claims))
    assert {k: claimed[k] for k in ("iss", "sub", "scope", "aud")} == {
        "iss": SERVICE_ACCOUNT, "sub": "eoi@council.example", "scope": "https://mail.google.com/",
        "aud": "https://oauth2.googleapis.com/token"}
    assert claimed["exp"] - claimed["iat"] == 3600 and before - 5 <= claimed["iat"] <= time.time() + 5
    assert token.value in token_standin.issued and 3500 < token.expires_at - time.monotonic() <= 3600


def test_google_refusal_says_why(tmp_path: Path, token_standin: TokenStandIn) -> None:  # noqa: F811
    token_standin.refuse = "unauthorized_client"
    path, _ = service_account_file(tmp_path)
    with pytest.raises(TokenRefused, match="unauthorized_client"):
        GoogleTokens(path, USER, token_url=token_standin.token_url).access_token()


def test_the_xoauth2_initial_response() -> None:
    assert xoauth2("eoi@council.example", "ya29.x") == b"user=eoi@council.example\x01auth=Bearer ya29.x\x01\x01"


# The settings.

def _refused(settings_factory: Callable[..., Any], **values: Any) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        settings_factory(**values)
    return settings_problems(refused.value)


def test_each_provider_needs_its_own_settings(settings_factory, tmp_path) -> None:
    url = "imaps://eoi@council.example@outlook.office365.com/INBOX"
    [line] = _refused(settings_factory, imap_url=url, imap_oauth_provider="microsoft", imap_oauth_tenant=TENANT,
                      imap_oauth_client_id=CLIENT_ID)
    assert line.startswith("CIB_IMAP_OAUTH_PROVIDER='microsoft': microsoft needs CIB_IMAP_OAUTH_CLIENT_SECRET (")
    [line] = _refused(settings_factory, imap_url=url, imap_oauth_provider="google", imap_oauth_tenant=TENANT)
    assert line == "CIB_IMAP_OAUTH_PROVIDER='google': CIB_IMAP_OAUTH_TENANT is not used with google: remove it"
    [line] = _refused(settings_factory, imap_url=url, imap_oauth_provider="google")
    assert "google needs CIB_IMAP_OAUTH_SERVICE_ACCOUNT_FILE (the service account's JSON key file)" in line
    [line] = _refused(settings_factory, imap_url=url, imap_oauth_client_secret="s3cret")
    assert "CIB_IMAP_OAUTH_CLIENT_SECRET is set, but not the provider it is for" in line
    [line] = _refused(settings_factory, imap_url=url, imap_password="hunter2", imap_oauth_provider="google",
                      imap_oauth_service_account_file=service_account_file(tmp_path)[0])
    assert "not both" in line and "hunter2" not in line
    [line] = _refused(settings_factory, imap_oauth_provider="microsoft", imap_oauth_tenant=TENANT,
                      imap_oauth_client_id=CLIENT_ID, imap_oauth_client_secret="s3cret")
    assert "CIB_IMAP_URL is not set" in line
    [line] = _refused(settings_factory, imap_url=url, imap_password="hunter2",
                      imap_oauth_token_url="http://127.0.0.1:1/token")
    assert line.startswith("CIB_IMAP_OAUTH_TOKEN_URL=") and "CIB_IMAP_OAUTH_PROVIDER is not set" in line
    [line] = _refused(settings_factory, imap_url=url)
    assert line.startswith("CIB_IMAP_OAUTH_PROVIDER: CIB_IMAP_URL is set but nothing logs in to it")
    # A part refused for itself is not called missing as well.
    lines = _refused(settings_factory, imap_url=url, imap_oauth_provider="microsoft", imap_oauth_tenant=TENANT,
                     imap_oauth_client_id="my app", imap_oauth_client_secret="s3cret")
    assert lines == ["CIB_IMAP_OAUTH_CLIENT_ID='my app': 'my app' is not an application (client) ID: give the GUID "
                     "the app registration's Overview shows, like 00000000-0000-0000-0000-000000000000"]


def test_a_service_account_file_is_checked(settings_factory, tmp_path) -> None:
    url = "imaps://eoi@council.example@imap.gmail.com/INBOX"
    bad = tmp_path / "key.json"
    for text, says in [("not json", "not a JSON key file"), ('{"type": "authorized_user"}', "not a service account"),
                       ('{"type": "service_account", "client_email": "a@b"}', "no private_key"),
                       ('{"type": "service_account", "client_email": "a@b", "private_key": "x"}', "not a PEM")]:
        bad.write_text(text)
        [line] = _refused(settings_factory, imap_url=url, imap_oauth_provider="google",
                          imap_oauth_service_account_file=bad)
        assert line.startswith("CIB_IMAP_OAUTH_SERVICE_ACCOUNT_FILE=") and says in line, line


# Against Dovecot's oauth2 passdb.

@pytest.fixture
def microsoft(settings_factory, oauth_dovecot: Dovecot, token_standin: TokenStandIn) -> Callable[..., Any]:  # noqa: F811
    def make(**overrides: Any) -> Any:
        values = {"imap_url": oauth_dovecot.url, "imap_oauth_provider": "microsoft", "imap_oauth_tenant": TENANT,
                  "imap_oauth_client_id": CLIENT_ID, "imap_oauth_client_secret": "s3cret",
                  "imap_oauth_token_url": token_standin.token_url, "imap_poll_seconds": 30}
        return settings_factory(**{**values, **overrides})

    return make


async def test_mail_is_read_with_an_oauth_token(microsoft, oauth_dovecot, token_standin, relay, clock) -> None:  # noqa: F811
    oauth_dovecot.append(stamp(message(PBR, subject="PbR pathfinder", message_id="<oauth-1@camden.gov.uk>")))
    runtime = create_service(microsoft(), clock=clock)
    await runtime.start(slack=False, scheduler=False, http=False)
    try:
        await wait_for(lambda: len(relay.messages) >= 1)
        await settle(runtime)
        await wait_for(lambda: oauth_dovecot.count("Processed") == 1)
    finally:
        await runtime.stop()
    assert relay.messages[0]["In-Reply-To"] == "<oauth-1@camden.gov.uk>"
    assert token_standin.introspected and set(token_standin.introspected) <= set(token_standin.issued)


async def test_logged_in_again_before_the_token_expires(microsoft, oauth_dovecot, token_standin, relay, clock,  # noqa: F811
                                                        monkeypatch) -> None:
    # Exchange Online ends a session when its token expires: the channel logs in again first.
    monkeypatch.setattr(mailbox_module, "RELOGIN_BEFORE", 3598.5)
    monkeypatch.setattr(oauth_tokens, "REFRESH_BEFORE", 3599.0)
    runtime = create_service(microsoft(), clock=clock)
    await runtime.start(slack=False, scheduler=False, http=False)
    try:
        await wait_for(lambda: len(token_standin.introspected) >= 3)
        assert len(set(token_standin.introspected)) >= 2  # a new token for a later login
        oauth_dovecot.append(stamp(message(PBR, subject="PbR pathfinder", message_id="<oauth-2@camden.gov.uk>")))
        await wait_for(lambda: len(relay.messages) >= 1)
        await settle(runtime)
    finally:
        await runtime.stop()


def test_check_logs_in_with_oauth(microsoft, oauth_dovecot, token_standin, tmp_path) -> None:  # noqa: F811
    oauth_dovecot.append(stamp(message(PBR, message_id="<oauth-3@camden.gov.uk>")))
    ok, detail, warning = mailbox_check(microsoft())
    assert ok and not warning and "1 message(s) waiting" in detail
    path, _ = service_account_file(tmp_path)
    google = microsoft(imap_oauth_provider="google", imap_oauth_tenant=None, imap_oauth_client_id=None,
                       imap_oauth_client_secret=None, imap_oauth_service_account_file=path)
    ok, detail, _ = mailbox_check(google)
    assert ok and "1 message(s) waiting" in detail
    assert json.loads(_part(token_standin.requests[-1]["assertion"].split(".")[1]))["sub"] == USER
    token_standin.refuse = "invalid_client"
    ok, detail, warning = mailbox_check(microsoft())
    assert not ok and not warning and "invalid_client" in detail


def test_a_token_dovecot_does_not_know_is_refused(microsoft, oauth_dovecot, token_standin) -> None:  # noqa: F811
    settings = microsoft()
    original = token_standin.token

    def forgotten(form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        status, answer = original(form)
        token_standin.issued.clear()  # issued, but the introspection says it is not active
        return status, answer

    token_standin.token = forgotten  # type: ignore[method-assign]
    ok, detail, warning = mailbox_check(settings)
    assert not ok and not warning and f"refused the login as {USER}" in detail
