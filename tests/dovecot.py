"""A real IMAP server for the mailbox channel's tests: Dovecot (Debian's dovecot-imapd),
on loopback, a free port, a temporary Maildir and one user with a plain password, started
and stopped by the test itself. Without Dovecot a test skips, and in CI (CI set) fails.

`oauth_dovecot` also takes XOAUTH2 through Dovecot's oauth2 passdb, which asks a local
stand-in for an OAuth provider (`TokenStandIn`: a token endpoint and RFC 7662 token
introspection) whether a token is good."""
from __future__ import annotations

import imaplib
import json
import os
import secrets
import threading
import urllib.parse
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.accessibility import missing

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
USER, PASSWORD = "eoi@cib.test", "intake-test-password"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login{mechanisms}
mail_location = maildir:{root}/mail/%u
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
{oauth_passdb}userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0666
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"imap://{USER}@127.0.0.1:{self.port}/INBOX"

    def start(self) -> None:
        assert DOVECOT is not None
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot stopped: {self.process.stderr.read().decode()}"  # type: ignore[union-attr]
                                   f"{self._log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self._log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # The whole group: the processes serving connections too (the server goes away).
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None

    def _log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def client(self) -> imaplib.IMAP4:
        connection = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        connection.login(USER, PASSWORD)
        return connection

    def append(self, raw: bytes, mailbox: str = "INBOX") -> None:
        connection = self.client()
        try:
            status, data = connection.append(mailbox, None, None, raw)
            assert status == "OK", data
        finally:
            connection.logout()

    def count(self, mailbox: str) -> int:
        """Messages in `mailbox` not marked deleted; 0 if it does not exist."""
        connection = self.client()
        try:
            status, _ = connection.select(f"\"{mailbox}\"", readonly=True)
            if status != "OK":
                return 0
            _, data = connection.uid("SEARCH", "UNDELETED")
            return len(data[0].split()) if data and data[0] else 0
        finally:
            connection.logout()


def _owner() -> tuple[str, str, int, int]:
    """Who the mail belongs to: this user, or `nobody` when running as root (Dovecot will
    not give mail to UID 0)."""
    entry = pwd.getpwuid(os.getuid()) if os.getuid() else pwd.getpwnam("nobody")
    import grp

    return entry.pw_name, grp.getgrgid(entry.pw_gid).gr_name, entry.pw_uid, entry.pw_gid


OAUTH_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/dovecot-oauth2.conf.ext
}}
"""
OAUTH_CONFIG = """\
introspection_mode = post
introspection_url = {introspection_url}
username_attribute = username
active_attribute = active
active_value = true
"""


@contextmanager
def running_dovecot(introspection_url: str | None = None) -> Iterator[Dovecot]:
    if DOVECOT is None:
        missing("Dovecot is not installed (apt-get install dovecot-imapd)")
    # A short path (Dovecot's sockets live in base_dir; a socket path is at most 108 bytes)
    # that Dovecot's unprivileged processes can reach (pytest's own folders are 0700).
    root = Path(tempfile.mkdtemp(prefix="cib-dovecot-"))
    user, group, uid, gid = _owner()
    running_user = pwd.getpwuid(os.getuid()).pw_name
    server = Dovecot(root=root, port=free_port())
    (root / "mail").mkdir()
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    if introspection_url:
        (root / "dovecot-oauth2.conf.ext").write_text(OAUTH_CONFIG.format(introspection_url=introspection_url))
    (root / "dovecot.conf").write_text(CONFIG.format(
        root=root, port=server.port, user=running_user if os.getuid() else user, group=group, uid=uid, gid=gid,
        mechanisms=" xoauth2 oauthbearer" if introspection_url else "",
        oauth_passdb=OAUTH_PASSDB.format(root=root) if introspection_url else ""))
    for path in (root, root / "mail"):
        os.chmod(path, 0o755)
        if os.getuid() == 0:
            os.chown(root / "mail", uid, gid)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@dataclass
class TokenStandIn:
    """An OAuth provider on loopback: POST /token issues a token to a client-credentials or
    JWT-bearer grant (each request's form is kept, for the tests to read), POST /introspect
    answers Dovecot (RFC 7662) for the tokens issued and not revoked."""

    expires_in: int = 3600
    refuse: str | None = None  # answer /token with this OAuth error (400) instead
    requests: list[dict[str, str]] = field(default_factory=list)
    issued: dict[str, str] = field(default_factory=dict)  # token -> the user it is for
    introspected: list[str] = field(default_factory=list)
    user: str = USER
    port: int = 0

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/introspect"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.requests.append(form)
        if self.refuse:
            return 400, {"error": self.refuse, "error_description": "refused by the stand-in"}
        token = secrets.token_urlsafe(24)
        self.issued[token] = self.user
        return 200, {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token}

    def introspect(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        token = form.get("token", "")
        self.introspected.append(token)
        if token not in self.issued:
            return 200, {"active": False}
        return 200, {"active": True, "username": self.issued[token], "scope": "IMAP.AccessAsApp"}


def _handler(standin: TokenStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            route = {"/token": standin.token, "/introspect": standin.introspect}.get(self.path.split("?")[0])
            status, answer = route(form) if route else (404, {"error": "not_found"})
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            pass

    return Handler


@pytest.fixture
def token_standin() -> Iterator[TokenStandIn]:
    standin = TokenStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    standin.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="token-stand-in", daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def oauth_dovecot(token_standin: TokenStandIn) -> Iterator[Dovecot]:
    with running_dovecot(token_standin.introspection_url) as server:
        yield server
