"""Whether `cib serve` can listen where the settings say, asked before anything is made
(a database, an outbox): a port in use, a port below 1024 without the right, or a host that
is not this machine's is refused in one line naming the setting to change."""
from __future__ import annotations

import errno
import socket

from intake.runtime.settings import Settings


class StartupRefused(Exception):
    """The service cannot start as set; the message names the setting and what to do."""


def listeners(settings: Settings) -> list[tuple[str, str, int]]:
    """(the settings' prefix, host, port) of each listener."""
    return [("CIB_SMTP", settings.smtp_host, settings.smtp_port), ("CIB_HTTP", settings.http_host, settings.http_port)]


def check_listeners(settings: Settings) -> None:
    """Bind each listener's address for a moment, as the service will (port 0 still tells
    whether the host is this machine's)."""
    for prefix, host, port in listeners(settings):
        try:
            probe(host, port)
        except OSError as error:
            raise StartupRefused(bind_problem(prefix, host, port, error)) from error


def probe(host: str, port: int) -> None:
    """Bind every address the host resolves to, with the options asyncio's servers use."""
    for family, kind, proto, _, address in socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                               flags=socket.AI_PASSIVE):
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)


def bind_problem(prefix: str, host: str, port: int, error: OSError) -> str:
    """One line: the setting, what stands in the way, and what to do about it."""
    where = f"{host}:{port}"
    if isinstance(error, socket.gaierror):
        return f"{prefix}_HOST={host}: no such host name here; give an address of this machine, like 127.0.0.1 or 0.0.0.0"
    if error.errno == errno.EADDRINUSE:
        return (f"{prefix}_PORT={port}: {where} is already in use; is another `cib serve` running? "
                f"Stop it, or give {prefix}_PORT a free port")
    if error.errno == errno.EACCES:
        return (f"{prefix}_PORT={port}: permission denied listening on {where}: ports below 1024 need root or "
                "the CAP_NET_BIND_SERVICE capability (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE); "
                f"or give {prefix}_PORT a port above 1023 behind a server that forwards to it")
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{prefix}_HOST={host}: not an address of this machine; give one of its own, like 127.0.0.1 or 0.0.0.0"
    return f"{prefix}_PORT={port}: cannot listen on {where}: {error.strerror or error}"
