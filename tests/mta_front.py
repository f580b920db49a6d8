"""The MX in front of the intake as deploy/postfix ships it, run from Debian's own postfix,
opendkim and opendmarc on loopback (for tests/test_mta_front.py): the shipped
opendkim.conf and opendmarc.conf with MX_HOSTNAME put in as entrypoint.sh does, the
postconf settings read from entrypoint.sh itself, Debian's master.cf (smtpd and smtp
chrooted) and Debian's own chroot set-up, all in a temporary folder.

DNS: every process of the front sees, in a mount namespace of its own, a resolv.conf that
names a DNS stub (tests/dns_stub.py) on port 53 of a loopback address of its own, so the
milters' lookups and Postfix's, from inside its chroot, reach the stub; the machine's
/etc/resolv.conf is never changed. Needs root and the packages in PACKAGES."""
from __future__ import annotations

import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.accessibility import missing
from tests.dns_stub import DnsStub
from tests.dovecot import free_port

PACKAGES = "postfix opendkim opendmarc"  # Debian's, as deploy/postfix/Dockerfile installs them
SHIPPED = Path(__file__).resolve().parent.parent / "deploy" / "postfix"
MX_HOSTNAME, INTAKE_DOMAIN = "mx.cib.test", "cib.test"
SERVICE_NAME = "intake.cib.test"  # the relay target's name, as `cib` is in compose.yaml
CONFIGURE_INSTANCE = "/usr/lib/postfix/configure-instance.sh"  # Debian's chroot set-up
MASTER_CF = "/usr/share/postfix/master.cf.dist"  # master.cf as Debian ships it
BINARIES = ("postfix", "postconf", "opendkim", "opendmarc", "unshare")

# Only what a temporary instance must have of its own: where it keeps its queue and on
# which address it listens. Everything else comes from entrypoint.sh.
MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
biff = no
"""


def require() -> None:
    """Skip (fail in CI: .ci/run installs the packages) when the packages are missing; skip
    everywhere on a machine that cannot run the front at all (no root, no mount namespace)."""
    absent = [name for name in BINARIES if not _which(name)]
    if absent:
        missing(f"{', '.join(absent)} not installed (apt-get install --no-install-recommends {PACKAGES})")
    if os.geteuid() != 0:
        pytest.skip("Postfix and the milters must be started as root")
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no mount namespace here (unshare --mount): {probe.stderr.decode().strip()}")


def _which(name: str) -> str | None:
    return shutil.which(name) or next((f"{d}/{name}" for d in ("/usr/sbin", "/sbin") if Path(f"{d}/{name}").exists()), None)


def outside_address() -> str:
    """An address of this machine's other than loopback, for the test's mail client: the
    milters treat a loopback client as the machine itself (OpenDMARC's SPF check passes
    it whatever the domain publishes)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # routing only: nothing is sent
            address = str(probe.getsockname()[0])
    except OSError:
        address = ""
    if not address or address.startswith("127."):
        pytest.skip("no IPv4 address other than loopback to send the test's mail from")
    return address


def until(condition: Callable[[], object], *, within: float, what: str, every: float = 0.05) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        time.sleep(every)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            return connection.recv(64).startswith(b"220")
    except OSError:
        return False


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# --- the shipped configuration, as entrypoint.sh applies it -------------------------------


def milter_config(name: str, *, port: int, pid_file: Path, nameserver: str) -> str:
    """deploy/postfix/<name>, with MX_HOSTNAME put in as entrypoint.sh's sed does; only
    the socket and pid file moved into the test's own port and folder. OpenDKIM's resolver
    (libunbound) recurses from the root servers rather than read resolv.conf, so it is
    pointed at the stub, which stands in for the internet's DNS here."""
    text = (SHIPPED / name).read_text()
    lines = [line.replace("MX_HOSTNAME", MX_HOSTNAME, 1) for line in text.splitlines()]
    moved = {"Socket": f"inet:{port}@127.0.0.1", "PidFile": str(pid_file)}
    out = [f"{line.split()[0]:<24}{moved[line.split()[0]]}" if line.split()[:1] and line.split()[0] in moved else line
           for line in lines]
    if name == "opendkim.conf":
        out.append(f"{'Nameservers':<24}{nameserver}")
    return "\n".join(out) + "\n"


def entrypoint_postconf(relay_to: str) -> list[str]:
    """The `name = value` settings entrypoint.sh gives `postconf -e`, its variables filled in."""
    script = (SHIPPED / "entrypoint.sh").read_text().replace("\\\n", " ")
    [command] = [line for line in script.splitlines() if line.strip().startswith("postconf -e")]
    values = {"MX_HOSTNAME": MX_HOSTNAME, "INTAKE_DOMAIN": INTAKE_DOMAIN, "RELAY_TO": relay_to}
    filled = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], command)
    return shlex.split(filled)[2:]


def shipped_milter_ports() -> tuple[int, int]:
    """OpenDKIM's and OpenDMARC's ports in the shipped files (the order smtpd_milters uses)."""
    ports = [re.search(r"^Socket\s+inet:(\d+)@", (SHIPPED / name).read_text(), re.M) for name in ("opendkim.conf", "opendmarc.conf")]
    return int(ports[0].group(1)), int(ports[1].group(1))  # type: ignore[union-attr]


def master_cf(port: int) -> str:
    """Debian's master.cf with its smtpd on our port; every chroot column as shipped."""
    text = Path(MASTER_CF).read_text()
    return re.sub(r"^smtp(\s+inet\s)", lambda m: f"{port}{m.group(1)}", text, count=1, flags=re.M)


# --- the running front ---------------------------------------------------------------------


@dataclass
class Front:
    port: int  # Postfix's smtpd on 127.0.0.1
    root: Path
    dns: DnsStub

    def log(self) -> str:
        """Postfix's log (maillog_file = /dev/stdout, as entrypoint.sh sets it)."""
        return (self.root / "postfix.out").read_text(errors="replace")


def _in_namespace(resolv: Path, command: list[str]) -> list[str]:
    """`command` in a mount namespace of its own whose /etc/resolv.conf is `resolv`."""
    script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(resolv), *command]


def _loopback_address() -> str:
    """A loopback address of the stub's own: port 53 there is free whatever else runs."""
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(2, 250)}"


def _start_dns() -> DnsStub:
    for _ in range(10):
        try:
            return DnsStub().start(_loopback_address(), 53)
        except OSError:
            continue
    raise RuntimeError("no loopback address with port 53 free for the DNS stub")


class _Processes:
    """Processes started for the front, each stopped by its own id."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, command: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        self.running.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.running):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _milter(processes: _Processes, root: Path, resolv: Path, name: str, port: int, nameserver: str) -> None:
    """`opendkim` or `opendmarc` in the foreground, as the shipped file's UserID."""
    folder = root / name
    folder.mkdir()
    config = folder / f"{name}.conf"
    config.write_text(milter_config(f"{name}.conf", port=port, pid_file=folder / f"{name}.pid", nameserver=nameserver))
    shutil.chown(folder, user=name)  # its pid file is written after it drops to UserID
    flag = "-x" if name == "opendkim" else "-c"
    process = processes.start(_in_namespace(resolv, [_which(name) or name, "-f", flag, str(config)]), root / f"{name}.out")
    until(lambda: listening(port) or process.poll() is not None, within=30, what=f"{name} on port {port}")
    if process.poll() is not None:
        raise RuntimeError(f"{name} stopped: {(root / f'{name}.out').read_text(errors='replace')}")


def _postfix(processes: _Processes, root: Path, resolv: Path, port: int, relay_to: str, milters: tuple[int, int]) -> None:
    etc = root / "etc"
    for folder in ("etc", "spool", "data"):
        (root / folder).mkdir()
    shutil.chown(root / "data", user="postfix")
    (etc / "main.cf").write_text(MAIN_CF.format(root=root))
    (etc / "master.cf").write_text(master_cf(port))
    shipped = shipped_milter_ports()
    settings = [s.replace(f":{shipped[0]}", f":{milters[0]}").replace(f":{shipped[1]}", f":{milters[1]}")
                for s in entrypoint_postconf(relay_to)]
    postfix, postconf = _which("postfix") or "postfix", _which("postconf") or "postconf"
    subprocess.run([postconf, "-c", str(etc), "-e", *settings], check=True, capture_output=True)
    env = {**os.environ, "MAIL_CONFIG": str(etc)}
    # Debian's own chroot set-up, as entrypoint.sh runs it: copies resolv.conf, hosts and
    # the resolver's libraries into the queue folder the chrooted daemons see as /.
    subprocess.run(_in_namespace(resolv, [CONFIGURE_INSTANCE, "-"]), check=True, capture_output=True, env=env)
    subprocess.run([postfix, "-c", str(etc), "check"], check=True, capture_output=True)
    processes.start(_in_namespace(resolv, [postfix, "-c", str(etc), "start-fg"]), root / "postfix.out")
    until(lambda: _answers(port), within=60, what=f"Postfix on port {port}")


@contextmanager
def mta_front(relay_port: int) -> Iterator[Front]:
    """The front, relaying mail for INTAKE_DOMAIN to [SERVICE_NAME]:relay_port (the stub
    says SERVICE_NAME is 127.0.0.1), as compose.yaml's RELAY_TO names the service."""
    require()
    root = Path(tempfile.mkdtemp(prefix="cib-mta-front-"))
    root.chmod(0o755)  # Postfix's and the milters' own users read below it
    processes = _Processes()
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, root, ignore_errors=True)
        cleanup.callback(processes.stop)
        dns = _start_dns()
        cleanup.callback(dns.stop)
        dns.add(SERVICE_NAME, "A", "127.0.0.1")
        resolv = root / "resolv.conf"
        resolv.write_text(f"nameserver {dns.host}\noptions timeout:2 attempts:1\n")
        resolv.chmod(0o644)
        port, dkim_port, dmarc_port = free_port(), free_port(), free_port()
        _milter(processes, root, resolv, "opendkim", dkim_port, dns.host)
        _milter(processes, root, resolv, "opendmarc", dmarc_port, dns.host)
        etc = str(root / "etc")
        cleanup.callback(lambda: subprocess.run([_which("postfix") or "postfix", "-c", etc, "stop"], capture_output=True))
        _postfix(processes, root, resolv, port, f"[{SERVICE_NAME}]:{relay_port}", (dkim_port, dmarc_port))
        yield Front(port=port, root=root, dns=dns)
