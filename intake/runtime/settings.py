"""Settings from the environment and from a `.env` file in the working folder (prefix
`CIB_`, Slack's own names for Slack credentials); the environment wins.

Read once by `create_service`; everything else receives the values it needs. Secrets are
`SecretStr`, so a printed or logged Settings never shows them.
"""
from __future__ import annotations

import ipaddress
import json

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The defaults ship inside the package; CIB_CONFIG_DIR and CIB_TEMPLATES_DIR point elsewhere.
DEFAULT_CONFIG_DIR = Path(str(files("intake.config")))
DEFAULT_TEMPLATES_DIR = Path(str(files("intake.templates")))
# A comma-separated list in the environment (a JSON list is accepted too).
AddressList = Annotated[list[str], NoDecode]


def _split(value: object) -> object:
    # "a@x, b@y" in the environment becomes a list; a JSON list is accepted too.
    if isinstance(value, str):
        if value.strip().startswith("["):
            return json.loads(value)
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def async_url(url: str) -> str:
    """The URL with the async driver this service uses: Heroku-style `postgres://`, plain
    `postgresql://` and `sqlite:///` are accepted as they are usually written."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    drivers = {"postgres": "postgresql+asyncpg", "postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
    return f"{drivers.get(scheme.lower(), scheme)}://{rest}"


def secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIB_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///cib-intake.sqlite3"
    config_dir: Path = DEFAULT_CONFIG_DIR
    templates_dir: Path = DEFAULT_TEMPLATES_DIR

    # Inbound SMTP
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    intake_addresses: AddressList = Field(default_factory=lambda: ["eoi@localhost"])
    max_message_size: int = 10 * 1024 * 1024
    # STARTTLS on the SMTP listener: offered with a certificate and key; required if set.
    smtp_tls_cert: Path | None = None
    smtp_tls_key: Path | None = None
    smtp_require_tls: bool = False

    # Sender authentication. Set: only Authentication-Results headers stamped by these
    # authserv-ids (the mail server in front of the intake) are believed. Unset: the intake
    # checks DKIM, SPF and DMARC itself, asking these DNS servers ("host" or "host:port";
    # the system's resolver when empty), each lookup given at most dns_timeout seconds.
    authserv_id: AddressList = Field(default_factory=list)
    dns_servers: AddressList = Field(default_factory=list)
    dns_timeout: float = Field(default=5.0, gt=0)

    # Outbound mail: a relay when set, otherwise a local Maildir outbox.
    relay_host: str | None = None
    relay_port: int = 25
    relay_username: str | None = None
    relay_password: SecretStr | None = None
    relay_starttls: bool = False
    outbox_dir: Path = Path("outbox")
    from_address: str = "CIB intake <eoi@localhost>"

    # The CIB team
    team_emails: AddressList = Field(default_factory=list)
    team_slack_channel: str | None = None
    admin_slack_users: AddressList = Field(default_factory=list)

    # Slack
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "CIB_SLACK_BOT_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "CIB_SLACK_SIGNING_SECRET"),
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "CIB_SLACK_APP_TOKEN")
    )
    slack_api_url: str = "https://slack.com/api/"
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    # The address the team's workspace is reached at (links in sign-in emails; cookies are
    # Secure when it is https://). Default: http://CIB_HTTP_HOST:CIB_HTTP_PORT.
    web_url: str | None = None
    # Reverse proxies (IP addresses or CIDR networks) whose X-Forwarded-For is believed, to
    # tell clients apart for the sign-in limits. Empty: the connecting address is the client.
    trusted_proxies: AddressList = Field(default_factory=list)

    # Logs: "text" lines, or one JSON object per line ("json") for a log collector.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "debug", "info", "warning", "error"] = "INFO"

    # Scheduler
    scheduler_enabled: bool = True
    # Reminder contacts and region Slack channels (default: config_dir/contacts.csv).
    contacts_file: Path | None = None
    # How often an instance that is not running the jobs tries to take over (PostgreSQL).
    scheduler_lock_retry_seconds: float = Field(default=30.0, gt=0)
    # How often the Slack dispatcher looks for posts due (retries, and what another process recorded).
    slack_post_interval_seconds: float = Field(default=30.0, gt=0)

    @field_validator(
        "intake_addresses", "team_emails", "admin_slack_users", "authserv_id", "dns_servers", "sender_rate_limits",
        "total_rate_limits", "trusted_proxies", mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    # Replies one sender can draw, and all senders together: "count/seconds", comma-separated.
    # Past a limit the message is kept and processed, not answered, and the team is told.
    sender_rate_limits: AddressList = Field(default_factory=lambda: ["50/60", "120/300", "600/3600"])
    total_rate_limits: AddressList = Field(default_factory=lambda: ["2000/3600"])

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        return async_url(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (like 10.0.0.0/8)") from None
        return value

    @field_validator("intake_addresses")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [address.lower() for address in value]
