"""CIB_IMAP_URL, read: where the mailbox channel logs in and which mailbox it empties.

`imaps://USER@HOST[:PORT]/MAILBOX` speaks TLS from the first byte (port 993);
`imap://USER@HOST[:PORT]/MAILBOX` upgrades with STARTTLS when the server offers it, and
may go on in plain text only to a loopback address (a password must not cross a network
in the clear). A pure function: no I/O, so every rule is tested with plain strings.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

DEFAULT_PORTS = {"imaps": 993, "imap": 143}


@dataclass(frozen=True)
class ImapTarget:
    scheme: Literal["imaps", "imap"]
    user: str
    host: str
    port: int
    mailbox: str

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def shown(self) -> str:
        """The URL as it may be logged (it never holds the password)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{self.user}@{host}:{self.port}/{self.mailbox}"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_imap_url(url: str) -> ImapTarget:
    """The target named by `url`, or ValueError saying what is wrong with it."""
    scheme, sep, rest = url.strip().partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in DEFAULT_PORTS:
        raise ValueError("give an imaps:// (or imap://) address, like imaps://eoi@example.org@outlook.office365.com/INBOX")
    authority, _, path = rest.partition("/")
    if "?" in path or "#" in path:
        raise ValueError("an IMAP address takes no query (?) or fragment (#): name the mailbox after the host")
    # The user is often an email address itself: the host follows the last @.
    user, at, hostport = authority.rpartition("@")
    if not at or not user:
        raise ValueError("name the user to log in as, before the host: imaps://USER@HOST/MAILBOX")
    if ":" in user:
        raise ValueError("put the password in CIB_IMAP_PASSWORD, not in the address")
    host, port = _host_and_port(hostport, DEFAULT_PORTS[scheme])
    mailbox = unquote(path.strip("/")) or "INBOX"
    return ImapTarget(scheme=scheme, user=unquote(user), host=host, port=port, mailbox=mailbox)  # type: ignore[arg-type]


def _host_and_port(hostport: str, default: int) -> tuple[str, int]:
    if hostport.startswith("["):  # an IPv6 address, [::1]:993
        host, _, after = hostport[1:].partition("]")
        port_text = after.removeprefix(":")
    else:
        host, _, port_text = hostport.partition(":")
    if not host:
        raise ValueError("name the IMAP server after the user: imaps://USER@HOST/MAILBOX")
    if not port_text:
        return host.lower(), default
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{port_text!r} is not a port (1 to 65535)")
    return host.lower(), int(port_text)
