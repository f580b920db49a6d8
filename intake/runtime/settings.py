"""Settings from the environment and from a `.env` file in the working folder (prefix
`CIB_`, Slack's own names for Slack credentials); the environment wins.

Read once by `create_service`; everything else receives the values it needs. Secrets are
`SecretStr`, so a printed or logged Settings never shows them. Every value is checked as it
loads (the rules are in `setting_rules`), so whatever `cib check` passes `cib serve` can use.
"""
from __future__ import annotations

import ipaddress
import json

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from intake.runtime import setting_rules as rules
from intake.store.engine import Timeouts

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
    # PostgreSQL: seconds to connect (a URL's connect_timeout wins), for one statement, and
    # to wait for a pooled connection; a database that stops answering fails fast.
    database_connect_timeout: float = Field(default=5.0, gt=0)
    database_statement_timeout: float = Field(default=30.0, gt=0)
    database_pool_timeout: float = Field(default=10.0, gt=0)
    config_dir: Path = DEFAULT_CONFIG_DIR
    templates_dir: Path = DEFAULT_TEMPLATES_DIR

    # Inbound SMTP
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    intake_addresses: AddressList = Field(default_factory=lambda: ["eoi@localhost"])
    max_message_size: int = Field(default=10 * 1024 * 1024, gt=0)
    # STARTTLS on the SMTP listener: offered with a certificate and key; required if set.
    smtp_tls_cert: Path | None = None
    smtp_tls_key: Path | None = Field(default=None, validate_default=True)
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

    # Replies one sender can draw, and all senders together: "count/seconds", comma-separated.
    # Past a limit the message is kept and processed, not answered, and the team is told.
    sender_rate_limits: AddressList = Field(default_factory=lambda: ["50/60", "120/300", "600/3600"])
    total_rate_limits: AddressList = Field(default_factory=lambda: ["2000/3600"])

    @field_validator(
        "intake_addresses", "team_emails", "admin_slack_users", "authserv_id", "dns_servers", "sender_rate_limits",
        "total_rate_limits", "trusted_proxies", mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        return rules.database_url(async_url(value))

    @field_validator("config_dir", "templates_dir")
    @classmethod
    def _folders(cls, value: Path) -> Path:
        return rules.folder(value)

    @field_validator("contacts_file", "smtp_tls_cert")
    @classmethod
    def _files(cls, value: Path | None) -> Path | None:
        return None if value is None else rules.readable_file(value)

    @field_validator("outbox_dir")
    @classmethod
    def _outbox(cls, value: Path) -> Path:
        return rules.writable_folder(value)

    @field_validator("smtp_host", "http_host", "relay_host")
    @classmethod
    def _hosts(cls, value: str | None) -> str | None:
        return None if value is None else rules.host(value)

    @field_validator("smtp_port", "http_port")
    @classmethod
    def _listening_port(cls, value: int, info: ValidationInfo) -> int:
        rules.port(value, zero=True)
        if info.field_name == "http_port" and value and value == info.data.get("smtp_port"):
            hosts = {info.data.get("smtp_host"), info.data.get("http_host")}
            if len(hosts) == 1 or hosts & {"0.0.0.0", "::", ""}:
                raise ValueError(f"{value} is CIB_SMTP_PORT too: give the HTTP server a port of its own")
        return value

    @field_validator("relay_port")
    @classmethod
    def _relay_port(cls, value: int) -> int:
        return rules.port(value, zero=False)

    @field_validator("relay_username", "relay_password", "relay_starttls")
    @classmethod
    def _needs_relay(cls, value: object, info: ValidationInfo) -> object:
        # Said about a relay that is not there: the mail would silently go to the outbox folder.
        if value and "relay_host" in info.data and not info.data["relay_host"]:
            raise ValueError("CIB_RELAY_HOST is not set, so there is no relay to use this with: "
                             "set CIB_RELAY_HOST, or remove this setting")
        if info.field_name == "relay_password" and value and not info.data.get("relay_username"):
            raise ValueError("a password needs CIB_RELAY_USERNAME too")
        return value

    @field_validator("smtp_tls_key")
    @classmethod
    def _tls_pair(cls, key: Path | None, info: ValidationInfo) -> Path | None:
        if "smtp_tls_cert" not in info.data:
            return key  # the certificate was refused already
        cert = info.data["smtp_tls_cert"]
        if cert is None and key is None:
            return None
        if cert is None or key is None:
            raise ValueError("STARTTLS needs both CIB_SMTP_TLS_CERT and CIB_SMTP_TLS_KEY: give "
                             + ("the certificate too" if cert is None else "the certificate's key too"))
        rules.readable_file(key)
        rules.tls_pair(cert, key)
        return key

    @field_validator("smtp_require_tls")
    @classmethod
    def _tls_to_require(cls, value: bool, info: ValidationInfo) -> bool:
        known = "smtp_tls_cert" in info.data and "smtp_tls_key" in info.data
        if value and known and not (info.data["smtp_tls_cert"] and info.data["smtp_tls_key"]):
            raise ValueError("STARTTLS cannot be required without a certificate: set CIB_SMTP_TLS_CERT and "
                             "CIB_SMTP_TLS_KEY, or CIB_SMTP_REQUIRE_TLS=false")
        return value

    @field_validator("intake_addresses")
    @classmethod
    def _intake_addresses(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one address to accept mail for, like eoi@example.org")
        return [rules.email_address(address).lower() for address in value]

    @field_validator("team_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        return [rules.email_address(address) for address in value]

    @field_validator("from_address")
    @classmethod
    def _from(cls, value: str) -> str:
        return rules.mailbox(value)

    @field_validator("web_url", "slack_api_url", "privacy_notice_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return None if value is None else rules.web_url(value)

    @field_validator("sender_rate_limits", "total_rate_limits")
    @classmethod
    def _limits(cls, value: list[str]) -> list[str]:
        return [rules.rate_limit(limit) for limit in value]

    @field_validator("authserv_id")
    @classmethod
    def _authserv_ids(cls, value: list[str]) -> list[str]:
        return [rules.authserv_id(entry) for entry in value]

    @field_validator("dns_servers")
    @classmethod
    def _dns(cls, value: list[str]) -> list[str]:
        return [rules.host_and_port(entry) for entry in value]

    @field_validator("team_slack_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return None if value is None else rules.slack_channel(value)

    @field_validator("admin_slack_users")
    @classmethod
    def _admins(cls, value: list[str]) -> list[str]:
        return [rules.slack_user(entry) for entry in value]

    @field_validator("slack_bot_token", "slack_app_token", "slack_signing_secret")
    @classmethod
    def _slack_secrets(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        prefix = {"slack_bot_token": "xoxb-", "slack_app_token": "xapp-"}.get(info.field_name or "", "")
        if value is not None:
            rules.token(value.get_secret_value(), prefix)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (like 10.0.0.0/8)") from None
        return value

    @field_validator("imap_url")
    @classmethod
    def _imap(cls, value: str | None) -> str | None:
        # Read as the mailbox channel will read it, so `cib check` refuses what it could not use.
        from intake.mail.imap_url import parse_imap_url

        if value is not None:
            parse_imap_url(value)
        return value

    @field_validator("imap_password")
    @classmethod
    def _imap_password(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and "imap_url" in info.data and not info.data["imap_url"]:
            raise ValueError("CIB_IMAP_URL is not set, so there is no mailbox to log in to: set CIB_IMAP_URL, "
                             "or remove this setting")
        return value

    def timeouts(self) -> Timeouts:
        return Timeouts(connect=self.database_connect_timeout, statement=self.database_statement_timeout,
                        pool=self.database_pool_timeout)

    # The CIB's privacy notice (an https:// address), linked from every acknowledgement;
    # unset, `cib check` warns (intake/runtime/privacy_notice.py).
    privacy_notice_url: str | None = None

    # The mailbox channel: mail read from an existing mailbox, imaps://USER@HOST[:PORT]/MAILBOX
    # (or imap://, with STARTTLS when offered; plain text to loopback only). Each message is
    # kept, then moved to imap_done_mailbox (created if missing). Checked where the channel
    # is built (intake/mail/imap_url.py); with it set, CIB_SMTP_PORT=0 turns SMTP off.
    imap_url: str | None = None
    imap_password: SecretStr | None = None
    imap_done_mailbox: str = Field(default="Processed", min_length=1)
    # Seconds between looks for new mail (and the connection's keep-alive) where the server
    # offers no IDLE; with IDLE new mail is noticed as it arrives.
    imap_poll_seconds: float = Field(default=5.0, gt=0, le=30)
    # OAuth 2.0 (XOAUTH2) instead of a password: Microsoft 365 (an app's client credentials)
    # or Google Workspace (a service account with domain-wide delegation for the mailbox's
    # user). The provider comes after what it needs, so that it is checked against them.
    imap_oauth_tenant: str | None = None
    imap_oauth_client_id: str | None = None
    imap_oauth_client_secret: SecretStr | None = None
    imap_oauth_service_account_file: Path | None = None
    imap_oauth_provider: Literal["microsoft", "google"] | None = Field(default=None, validate_default=True)
    # Another token endpoint than the provider's (a national cloud's, or a test's stand-in).
    imap_oauth_token_url: str | None = None

    @field_validator("imap_oauth_tenant", "imap_oauth_client_id", "imap_oauth_client_secret",
                     "imap_oauth_service_account_file")
    @classmethod
    def _oauth_part(cls, value: object, info: ValidationInfo) -> object:
        if value is not None:
            _OAUTH_RULES[info.field_name or ""](value.get_secret_value() if isinstance(value, SecretStr) else value)
        return value

    @field_validator("imap_oauth_provider")
    @classmethod
    def _oauth_provider(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A part that was refused already is not in info.data: it is not called missing too.
        given = {name.removeprefix("imap_oauth_") for name in _OAUTH_RULES if info.data.get(name) is not None}
        rules.oauth_parts(value, given=given, checked={n.removeprefix("imap_oauth_") for n in info.data})
        if value is not None and "imap_url" in info.data and not info.data["imap_url"]:
            raise ValueError("CIB_IMAP_URL is not set, so there is no mailbox to log in to: set CIB_IMAP_URL, "
                             "or remove this setting")
        if value is not None and info.data.get("imap_password"):
            raise ValueError("the mailbox is logged in to with CIB_IMAP_PASSWORD or with OAuth, not both: "
                             "remove one")
        if value is None and info.data.get("imap_url") and "imap_password" in info.data \
                and not info.data["imap_password"]:
            raise ValueError("CIB_IMAP_URL is set but nothing logs in to it: set CIB_IMAP_PASSWORD, or "
                             "CIB_IMAP_OAUTH_PROVIDER (microsoft or google) with what it needs")
        return value

    @field_validator("imap_oauth_token_url")
    @classmethod
    def _oauth_token_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        rules.web_url(value)
        if "imap_oauth_provider" in info.data and not info.data["imap_oauth_provider"]:
            raise ValueError("CIB_IMAP_OAUTH_PROVIDER is not set, so no token is asked for: set it, "
                             "or remove this setting")
        return value.strip()


_OAUTH_RULES = {
    "imap_oauth_tenant": rules.microsoft_tenant,
    "imap_oauth_client_id": rules.client_id,
    "imap_oauth_client_secret": rules.client_secret,
    "imap_oauth_service_account_file": rules.service_account_file,
}
