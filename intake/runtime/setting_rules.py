"""What each kind of setting must be, checked when the settings load, so `cib check` and
`cib serve` refuse the same values with the same words. Each rule returns the value (maybe
normalised) or raises ValueError saying what is wrong and what to give instead; the
settings name the variable."""
from __future__ import annotations

import ipaddress
import json
import re
import ssl
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from intake.store.pg_options import pg_options

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
# Slack: a channel ID (C0123...) or a #name; a user ID (U0123..., W0123...).
_CHANNEL = re.compile(r"^(?:[CGD][A-Z0-9]{2,}|#?[a-z0-9][a-z0-9._-]{0,79})$")
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# What each OAuth provider needs, and what to give (CIB_IMAP_OAUTH_<PART>).
OAUTH_PARTS = {
    "microsoft": {
        "tenant": "the directory (tenant) ID of the app registration, or the tenant's domain",
        "client_id": "the application (client) ID of the app registration",
        "client_secret": "a client secret's value from the app registration's Certificates & secrets",
    },
    "google": {"service_account_file": "the service account's JSON key file"},
}


def port(value: int, *, zero: bool) -> int:
    """A TCP port; 0 (any free port, as the tests and `cib demo` use) where `zero`."""
    low = 0 if zero else 1
    if not low <= value <= 65535:
        raise ValueError(f"{value} is not a port: give a number from {low} to 65535"
                         + (" (0: any free port)" if zero else ""))
    return value


def host(value: str) -> str:
    """An IP address or a host name, as a listener binds or a client connects to."""
    text = value.strip()
    try:
        ipaddress.ip_address(text.strip("[]"))
        return text
    except ValueError:
        pass
    if not _HOST.match(text) or len(text) > 253:
        raise ValueError(f"{value!r} is not a host name or IP address (like 127.0.0.1, 0.0.0.0 or mx.example.org)")
    return text


def host_and_port(value: str) -> str:
    """`host` or `host:port` (an IPv6 address in brackets when it has a port)."""
    text = value.strip()
    name, colon, number = text.rpartition(":") if text.count(":") == 1 or text.startswith("[") else ("", "", "")
    if not colon:
        return host(text)
    host(name)
    if not number.isdigit():
        raise ValueError(f"{value!r}: the port after ':' must be a number")
    port(int(number), zero=False)
    return text


def email_address(value: str) -> str:
    """A bare address, local@domain (a domain without dots, like localhost, is allowed)."""
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not _LOCAL.match(local) or not _HOST.match(domain) or domain.endswith("."):
        raise ValueError(f"{value!r} is not an email address (like cib-team@example.org)")
    return text


def mailbox(value: str) -> str:
    """An address with an optional display name: `CIB intake <eoi@example.org>`."""
    if "\n" in value or "\r" in value:
        raise ValueError("an address must be on one line")
    name, address = parseaddr(value)
    if not address or (not name and address != value.strip().strip("<>")):
        raise ValueError(f"{value!r} is not an address (like CIB intake <eoi@example.org>)")
    email_address(address)
    return value.strip()


def web_url(value: str) -> str:
    """An http:// or https:// URL with a host."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not a web address: give it with its scheme, like https://intake.example.org")
    return value.strip()


def rate_limit(value: str) -> str:
    """count/seconds, e.g. 50/60: at most 50 in any 60 seconds (read as the service reads it)."""
    from intake.pipeline.reply_limits import Limit

    try:
        Limit.parse(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a rate limit: give count/seconds, like 50/60 "
                         "(50 in any minute)") from None
    return value


def authserv_id(value: str) -> str:
    """An authserv-id as a mail server writes it in Authentication-Results: one token."""
    if not value or any(c.isspace() or c in ';()"' for c in value):
        raise ValueError(f"{value!r} is not an authserv-id (the mail server's name, like mx.example.org)")
    return value


def slack_channel(value: str) -> str:
    if not _CHANNEL.match(value):
        raise ValueError(f"{value!r} is not a Slack channel: give its ID (like C0123456789) or #name")
    return value


def slack_user(value: str) -> str:
    """A Slack user ID, or the email address of the user's Slack account."""
    if _USER.match(value):
        return value
    try:
        return email_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is neither a Slack user ID (like U0123456789) "
                         "nor an email address") from None


def token(value: str, prefix: str) -> str:
    """A Slack token of the kind its prefix names, or a signing secret (never shown)."""
    if any(c.isspace() for c in value) or not value:
        raise ValueError("a Slack token or secret is one word, with no spaces: copy it again from the app's page")
    if not value.startswith(prefix):
        raise ValueError(f"this is not the Slack token that belongs here: that one starts {prefix}")
    return value


def folder(value: Path) -> Path:
    if not value.is_dir():
        raise ValueError(f"{value}: no such folder" if not value.exists() else f"{value} is a file, not a folder")
    return value


def readable_file(value: Path) -> Path:
    if not value.is_file():
        raise ValueError(f"{value}: no such file" if not value.exists() else f"{value} is not a file")
    return value


def writable_folder(value: Path) -> Path:
    """A folder that is there or can be made: nothing in its way is a file."""
    for part in (value, *value.parents):
        if part.exists():
            if not part.is_dir():
                raise ValueError(f"{part} is a file: give a folder")
            return value
    return value


def tls_pair(cert: Path, key: Path) -> None:
    """The certificate and key load, and belong together."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as error:
        mismatch = "KEY_VALUES_MISMATCH" in str(error) or "key values mismatch" in str(error)
        raise ValueError(f"{key} is not the key of the certificate {cert}" if mismatch
                         else f"{cert} and {key} cannot be loaded as a PEM certificate and its key "
                              f"({error.reason or error})") from None


def database_url(value: str) -> str:
    """SQLite (a file in a folder that exists) or PostgreSQL (with options asyncpg can use)."""
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError("not a database URL: give sqlite:///path/to/cib-intake.sqlite3 or "
                         "postgresql://user:password@host/database") from None
    backend, driver = url.get_backend_name(), url.get_driver_name()
    if backend == "sqlite" and driver == "aiosqlite":
        if url.database not in (None, "", ":memory:"):
            parent = Path(url.database).resolve().parent
            if not parent.is_dir():
                raise ValueError(f"the SQLite file's folder {parent} does not exist: make it first")
        return value
    if backend == "postgresql" and driver == "asyncpg":
        pg_options(url)
        return value
    raise ValueError(f"{backend}+{driver} is not a database the service uses: give sqlite:///path/to/file.sqlite3 "
                     "or postgresql://user:password@host/database")


def microsoft_tenant(value: str) -> str:
    """A Microsoft Entra tenant: its ID (a GUID) or one of its domains."""
    if _GUID.match(value) or (_HOST.match(value) and "." in value.strip(".")):
        return value
    raise ValueError(f"{value!r} is not a tenant: give the directory (tenant) ID, like "
                     "00000000-0000-0000-0000-000000000000, or the tenant's domain, like contoso.onmicrosoft.com")


def client_id(value: str) -> str:
    if not _GUID.match(value):
        raise ValueError(f"{value!r} is not an application (client) ID: give the GUID the app registration's "
                         "Overview shows, like 00000000-0000-0000-0000-000000000000")
    return value


def client_secret(value: str) -> str:
    """A client secret's value (never shown)."""
    if not value or any(c.isspace() for c in value):
        raise ValueError("a client secret is one word, with no spaces: copy its Value (not its Secret ID) "
                         "again from the app registration")
    return value


def service_account_file(value: Path) -> Path:
    """A Google service account's JSON key, with what the JWT grant needs."""
    readable_file(value)
    try:
        key = json.loads(value.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise ValueError(f"{value} is not a JSON key file: download the service account's key as JSON") from None
    if not isinstance(key, dict) or key.get("type") != "service_account":
        raise ValueError(f"{value} is not a service account's key (its \"type\" is not \"service_account\")")
    missing = [name for name in ("client_email", "private_key") if not key.get(name)]
    if missing:
        raise ValueError(f"{value} has no {' or '.join(missing)}: download a new JSON key for the service account")
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        load_pem_private_key(str(key["private_key"]).encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError(f"{value}: its private_key is not a PEM private key: download a new JSON key") from None
    return value


def oauth_parts(provider: str | None, *, given: set[str], checked: set[str]) -> None:
    """The CIB_IMAP_OAUTH_<PART> settings `given` are those the provider needs (only parts
    `checked` and found good can be missing)."""
    def names(parts: set[str]) -> str:
        return " and ".join(f"CIB_IMAP_OAUTH_{part.upper()}" for part in sorted(parts))

    if provider is None:
        if given:
            raise ValueError(f"{names(given)} is set, but not the provider it is for: set CIB_IMAP_OAUTH_PROVIDER "
                             "to microsoft or google, or remove it")
        return
    needed = OAUTH_PARTS[provider]
    if given - set(needed):
        raise ValueError(f"{names(given - set(needed))} is not used with {provider}: remove it")
    missing = [part for part in needed if part not in given and part in checked]
    if missing:
        raise ValueError(f"{provider} needs " + "; ".join(
            f"CIB_IMAP_OAUTH_{part.upper()} ({needed[part]})" for part in missing))
