"""Postfix from Debian's package as a peer for the benchmarks: a temporary instance of its
own (configuration, queue and log under a temporary folder) listening on loopback, which
takes each message into its queue (written and synced, as for real mail), answers 250 and
then discards it. Needs root (Postfix's own daemons drop to its `postfix` user) and the
`postfix` package; `available()` says why not, when not."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"

# The services a discarding MX needs; chroot off, so nothing is copied into the queue.
MASTER = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

MAIN = """\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = peer.localhost
mydestination =
relay_domains = localhost
default_transport = discard
relay_transport = discard
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
message_size_limit = 26214400
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
anvil_rate_time_unit = 60s
maillog_file_prefixes = /var, /dev/stdout, {root}
maillog_file = {root}/postfix.log
smtpd_banner = $myhostname ESMTP
biff = no
"""


def available() -> str | None:
    """None when a peer can be started here; otherwise why not."""
    if not Path(POSTFIX).exists():
        return "Postfix is not installed (Debian: apt-get install postfix)"
    if os.geteuid() != 0:
        return "Postfix's daemons must be started as root"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answering(port: int, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                if connection.recv(64).startswith(b"220"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"Postfix did not answer on 127.0.0.1:{port} within {within} s")


@contextmanager
def postfix_peer() -> Iterator[int]:
    """A running Postfix instance; yields its SMTP port on 127.0.0.1."""
    reason = available()
    if reason:
        raise RuntimeError(reason)
    root = Path(tempfile.mkdtemp(prefix="cib-postfix-peer-"))
    root.chmod(0o755)  # Postfix's daemons, as its own user, read below it
    port = _free_port()
    for folder in ("etc", "spool", "data"):
        (root / folder).mkdir()
    shutil.chown(root / "data", user="postfix")
    (root / "etc" / "master.cf").write_text(MASTER.format(port=port))
    (root / "etc" / "main.cf").write_text(MAIN.format(root=root))
    config = ["-c", str(root / "etc")]
    subprocess.run([POSTFIX, *config, "start"], check=True, capture_output=True)
    try:
        _answering(port, within=30)
        yield port
    finally:
        subprocess.run([POSTFIX, *config, "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
