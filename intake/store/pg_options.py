"""PostgreSQL URLs as hosts hand them out (`?sslmode=require&sslrootcert=...`, libpq's
options) turned into asyncpg's connect arguments. SQLAlchemy passes every query option to
`asyncpg.connect` as a keyword, and libpq's names are not asyncpg's: `sslmode` would be
"an unexpected keyword argument". Read by the engine, and by the settings to refuse a URL
the engine could not use."""
from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL, make_url

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SESSION_ATTRS = ("any", "primary", "standby", "prefer-standby", "read-write", "read-only")
# libpq's options we translate; `ssl` is how asyncpg users write `sslmode`.
TRANSLATED = ("sslmode", "ssl", "sslrootcert", "sslcert", "sslkey", "sslpassword", "connect_timeout",
              "application_name", "target_session_attrs")
# Read by SQLAlchemy's asyncpg dialect itself.
PASSED_ON = ("prepared_statement_cache_size",)


@dataclass(frozen=True)
class PgOptions:
    url: URL  # without the options asyncpg would not take
    connect_args: dict[str, Any] = field(default_factory=dict)


def pg_options(url: str | URL) -> PgOptions:
    """The URL's options as asyncpg's arguments; ValueError names what cannot be used."""
    parsed = make_url(url)
    query = {key: _one(key, value) for key, value in parsed.query.items()}
    unknown = sorted(set(query) - set(TRANSLATED) - set(PASSED_ON))
    if unknown:
        raise ValueError(f"the option {unknown[0]!r} in the URL is not one the service knows; it takes "
                         f"{', '.join(TRANSLATED + PASSED_ON)}")
    args: dict[str, Any] = {}
    mode = query.get("sslmode") or query.get("ssl")
    if mode is None and query.get("sslrootcert"):
        mode = "verify-ca"  # a root certificate given is a certificate to check against
    if mode is not None:
        args["ssl"] = ssl_argument(mode, rootcert=query.get("sslrootcert"), cert=query.get("sslcert"),
                                   key=query.get("sslkey"), password=query.get("sslpassword"))
    elif query.get("sslcert"):
        raise ValueError("sslcert needs sslmode=require, verify-ca or verify-full")
    if "connect_timeout" in query:
        args["timeout"] = _seconds(query["connect_timeout"])
    if "application_name" in query:
        args["server_settings"] = {"application_name": query["application_name"]}
    if "target_session_attrs" in query:
        if query["target_session_attrs"] not in SESSION_ATTRS:
            raise ValueError(f"target_session_attrs must be one of {', '.join(SESSION_ATTRS)}")
        args["target_session_attrs"] = query["target_session_attrs"]
    return PgOptions(parsed.difference_update_query(TRANSLATED), args)


def ssl_argument(
    mode: str, *, rootcert: str | None = None, cert: str | None = None, key: str | None = None,
    password: str | None = None,
) -> ssl.SSLContext | str | bool:
    """asyncpg's `ssl` for a libpq sslmode: False, a mode asyncpg falls back from, or a context."""
    if mode not in SSL_MODES:
        raise ValueError(f"sslmode={mode!r} is not one of {', '.join(SSL_MODES)}")
    if mode == "disable":
        return False
    if mode in ("allow", "prefer"):
        if cert:
            raise ValueError(f"sslcert needs sslmode=require, verify-ca or verify-full, not {mode}")
        return mode  # asyncpg tries TLS and falls back to none, as libpq does
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = mode == "verify-full"
    # libpq: `require` with a root certificate checks the server's against it, as verify-ca.
    if mode == "require" and not rootcert:
        context.verify_mode = ssl.CERT_NONE
    elif rootcert in (None, "", "system"):
        context.load_default_certs()
    else:
        _load(lambda: context.load_verify_locations(cafile=rootcert), f"sslrootcert={rootcert}")
    if cert:
        _load(lambda: context.load_cert_chain(cert, key or None, password=password),
              f"sslcert={cert}" + (f" with sslkey={key}" if key else ""))
    elif key:
        raise ValueError("sslkey needs sslcert (the client certificate it belongs to)")
    return context


def _load(load: Any, what: str) -> None:
    try:
        load()
    except FileNotFoundError:
        raise ValueError(f"{what}: no such file") from None
    except (OSError, ssl.SSLError) as error:
        raise ValueError(f"{what}: cannot be loaded ({error.strerror or error})") from None


def _one(key: str, value: str | tuple[str, ...]) -> str:
    if isinstance(value, tuple):
        raise ValueError(f"the option {key!r} is given more than once in the URL")
    return value


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0
    if seconds <= 0:
        raise ValueError(f"connect_timeout={text!r} must be a number of seconds above 0")
    return seconds
