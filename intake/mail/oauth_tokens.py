"""OAuth 2.0 access tokens for the mailbox channel's XOAUTH2 login, blocking (called on the
mailbox's worker thread):

- Microsoft 365: the client-credentials grant of an app registration that Exchange Online
  grants IMAP access to the mailbox (scope https://outlook.office365.com/.default);
- Google Workspace: a service account with domain-wide delegation, signing a JWT that names
  the mailbox's user as its subject (google-auth does the signing and the grant).

Each source keeps its token and fetches a new one REFRESH_BEFORE seconds before it expires.
A refusal (a wrong secret, an app not consented) is TokenRefused: trying again will not
help; an endpoint out of reach is ConnectionError (an OSError), tried again later.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Protocol

MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_SCOPE = "https://mail.google.com/"
REFRESH_BEFORE = 300.0  # seconds: a token this close to expiring is replaced before it is used
TIMEOUT = 30.0  # seconds for the token endpoint to answer


class TokenRefused(Exception):
    """The token endpoint refused the request: the settings or the grant must change."""


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    expires_at: float  # time.monotonic() at which it expires


class TokenSource(Protocol):
    def access_token(self) -> AccessToken:
        """A token valid for REFRESH_BEFORE seconds at least."""
        ...


class _Cached(ABC):
    """Keeps the last token; fetches another when it is about to expire."""

    def __init__(self) -> None:
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def access_token(self) -> AccessToken:
        with self._lock:
            if self._token is None or self._token.expires_at - REFRESH_BEFORE <= time.monotonic():
                self._token = self._fetch()
            return self._token

    @abstractmethod
    def _fetch(self) -> AccessToken: ...


class MicrosoftTokens(_Cached):
    """Client credentials (RFC 6749 4.4) at the tenant's Microsoft identity platform."""

    def __init__(self, tenant: str, client_id: str, client_secret: str, *, token_url: str | None = None,
                 timeout: float = TIMEOUT) -> None:
        super().__init__()
        self.url = token_url or MICROSOFT_TOKEN_URL.format(tenant=urllib.parse.quote(tenant, safe=""))
        self.form = {"client_id": client_id, "client_secret": client_secret, "scope": MICROSOFT_SCOPE,
                     "grant_type": "client_credentials"}
        self.timeout = timeout

    def _fetch(self) -> AccessToken:
        return token_from(post_form(self.url, self.form, timeout=self.timeout), self.url)


class GoogleTokens(_Cached):
    """A service account's JWT bearer grant (RFC 7523) for `user`, by domain-wide delegation."""

    def __init__(self, service_account_file: Path, user: str, *, token_url: str | None = None,
                 timeout: float = TIMEOUT) -> None:
        from google.oauth2 import service_account

        super().__init__()
        credentials = service_account.Credentials.from_service_account_file(
            str(service_account_file), scopes=[GOOGLE_SCOPE], subject=user)
        # The token endpoint the file names (or the override); the JWT's audience stays Google's.
        self.credentials = credentials.with_token_uri(token_url or GOOGLE_TOKEN_URL)
        self.timeout = timeout

    def _fetch(self) -> AccessToken:
        from google.auth import exceptions

        try:
            self.credentials.refresh(UrllibRequest(self.timeout))
        except exceptions.TransportError as error:
            raise ConnectionError(f"{self.credentials._token_uri}: {error}") from None
        except exceptions.RefreshError as error:
            if getattr(error, "retryable", False):
                raise ConnectionError(f"{self.credentials._token_uri}: {error}") from None
            raise TokenRefused(f"Google refused the token: {_google_reason(error)}") from None
        expiry = self.credentials.expiry  # naive UTC, as google-auth keeps it
        left = (expiry - datetime.now(timezone.utc).replace(tzinfo=None)).total_seconds() if expiry else 3600.0
        return AccessToken(self.credentials.token, time.monotonic() + left)


def _google_reason(error: Exception) -> str:
    # RefreshError's args: (message, the response's JSON); the JSON says which grant failed.
    detail = error.args[1] if len(error.args) > 1 else None
    if isinstance(detail, Mapping) and detail.get("error"):
        return ": ".join(str(detail[k]) for k in ("error", "error_description") if detail.get(k))
    return str(error.args[0]) if error.args else type(error).__name__


def token_source(provider: Literal["microsoft", "google"], *, user: str, tenant: str | None = None,
                 client_id: str | None = None, client_secret: str | None = None,
                 service_account_file: Path | None = None, token_url: str | None = None) -> TokenSource:
    """The provider's token source, from settings already checked to be complete."""
    if provider == "microsoft":
        assert tenant and client_id and client_secret
        return MicrosoftTokens(tenant, client_id, client_secret, token_url=token_url)
    assert service_account_file is not None
    return GoogleTokens(service_account_file, user, token_url=token_url)


def post_form(url: str, fields: Mapping[str, str], *, timeout: float) -> dict[str, Any]:
    """The JSON answer to a form POST; TokenRefused for a 4xx, ConnectionError otherwise."""
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(fields).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - an http(s) setting
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        body = _json(error.read())
        reason = ": ".join(str(body[k]) for k in ("error", "error_description") if body.get(k)) or error.reason
        if 400 <= error.code < 500:
            raise TokenRefused(f"{_host(url)} refused the token request ({error.code}): {reason}") from None
        raise ConnectionError(f"{_host(url)} answered {error.code}: {reason}") from None
    except urllib.error.URLError as error:
        raise ConnectionError(f"{_host(url)}: {error.reason}") from None
    except ValueError:
        raise ConnectionError(f"{_host(url)} answered with something that is not JSON") from None


def token_from(answer: Mapping[str, Any], url: str) -> AccessToken:
    """The token in a token endpoint's JSON answer (RFC 6749 5.1)."""
    value = answer.get("access_token")
    if not isinstance(value, str) or not value:
        raise TokenRefused(f"{_host(url)} answered without an access token")
    try:
        expires_in = float(answer.get("expires_in", 3600))
    except (TypeError, ValueError):
        expires_in = 3600.0
    return AccessToken(value, time.monotonic() + expires_in)


def _json(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


class _Answer:
    def __init__(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self.status, self.headers, self.data = status, headers, data


class UrllibRequest:
    """google-auth's transport (google.auth.transport.Request) over the standard library."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def __call__(self, url: str, method: str = "GET", body: bytes | None = None,
                 headers: Mapping[str, str] | None = None, timeout: float | None = None, **_: Any) -> _Answer:
        from google.auth import exceptions

        request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:  # noqa: S310
                return _Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return _Answer(error.code, dict(error.headers), error.read())
        except (urllib.error.URLError, OSError) as error:
            raise exceptions.TransportError(str(getattr(error, "reason", error))) from None
