"""PostgreSQL as hosts hand it out, and a database that stops answering: libpq's URL options
(sslmode, sslrootcert, sslcert, sslkey, connect_timeout) reach asyncpg in its own terms, and
through a TCP proxy in front of the server that can drop every connection or swallow them
(accept, read, never answer), an SMTP sender gets 451 and /healthz 503 within seconds."""
from __future__ import annotations

import asyncio
import os
import ssl
import sys
import time
from pathlib import Path

import aiohttp
import aiosmtplib
import pytest
from sqlalchemy.engine import make_url

from intake.runtime.composition import create_service
from intake.store.pg_options import pg_options, ssl_argument
from tests.mailer import message, stamp
from tests.test_smtp_tls import self_signed


class Proxy:
    """A TCP proxy to host:port. `pass` forwards; `drop` closes every connection and each
    new one at once; `blackhole` accepts and reads but never answers (a database behind a
    firewall that started dropping packets)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.mode = "pass"
        self.listen_port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.set("drop")
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def set(self, mode: str) -> None:
        self.mode = mode
        if mode == "drop":
            for writer in list(self._writers):
                writer.close()

    def url(self, url: str) -> str:
        return make_url(url).set(host="127.0.0.1", port=self.listen_port).render_as_string(hide_password=False)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.mode == "drop":
                return
            if self.mode == "blackhole":
                while await reader.read(65536):
                    pass
                return
            upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
            self._writers.add(upstream_writer)
            await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))
        except OSError:
            pass
        finally:
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.mode == "drop":
                    break
                if self.mode == "pass":
                    writer.write(data)
                    await writer.drain()
                # blackhole: read and keep nothing
        except OSError:
            pass
        finally:
            writer.close()
            self._writers.discard(writer)


@pytest.fixture
async def proxy(postgres_url):
    parsed = make_url(postgres_url)
    proxy = Proxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


async def _smtp(port: int) -> tuple[int, float]:
    """The DATA reply's code to one message, and how long it took."""
    started = time.monotonic()
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=40)
    await client.connect()
    try:
        await client.mail("jane.smith@camden.gov.uk")
        await client.rcpt("eoi@cib.test")
        try:
            response = await client.data(stamp(message("What is the deadline?", subject="Deadline")))
            code = response.code
        except aiosmtplib.SMTPResponseException as error:
            code = error.code
    finally:
        client.close()
    return code, time.monotonic() - started


async def _healthz(port: int) -> tuple[int, float]:
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=40)) as answer:
            return answer.status, time.monotonic() - started


async def _started(settings_factory, clock, proxy, postgres_url, **settings):
    runtime = create_service(settings_factory(database_url=proxy.url(postgres_url), **settings), clock=clock)
    await runtime.start(slack=False, scheduler=False)
    return runtime


async def test_a_database_that_stops_answering_gets_senders_a_451_within_seconds(
    settings_factory, clock, proxy, postgres_url
):
    runtime = await _started(settings_factory, clock, proxy, postgres_url,
                             database_connect_timeout=2, database_statement_timeout=2)
    try:
        assert (await _smtp(runtime.smtp_port))[0] == 250
        proxy.set("blackhole")
        code, took = await _smtp(runtime.smtp_port)
        assert code == 451 and took < 12, (code, took)
        status, took = await _healthz(runtime.http_port)
        assert status == 503 and took < 5, (status, took)
        # It answers again: the message is kept.
        proxy.set("pass")
        for _ in range(20):
            if (await _smtp(runtime.smtp_port))[0] == 250:
                break
            await asyncio.sleep(0.5)
        else:
            pytest.fail("the service did not come back when the database did")
        assert (await _healthz(runtime.http_port))[0] == 200
    finally:
        proxy.set("pass")
        await runtime.stop()


async def test_healthz_answers_503_within_its_probe_timeout_whatever_the_statement_timeout(
    settings_factory, clock, proxy, postgres_url
):
    runtime = await _started(settings_factory, clock, proxy, postgres_url)  # the defaults: 5 s, 30 s
    try:
        assert (await _healthz(runtime.http_port))[0] == 200
        proxy.set("blackhole")
        status, took = await _healthz(runtime.http_port)
        assert status == 503 and took < 5, (status, took)
    finally:
        proxy.set("pass")
        await runtime.stop()


async def test_a_database_that_drops_connections_gets_senders_a_451_at_once(
    settings_factory, clock, proxy, postgres_url
):
    runtime = await _started(settings_factory, clock, proxy, postgres_url)
    try:
        proxy.set("drop")
        code, took = await _smtp(runtime.smtp_port)
        assert code == 451 and took < 5, (code, took)
        status, took = await _healthz(runtime.http_port)
        assert status == 503 and took < 5, (status, took)
    finally:
        proxy.set("pass")
        await runtime.stop()


async def _cib(*args: str, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "intake", *args, cwd=cwd, env={**base, "COLUMNS": "200", **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
async def test_a_libpq_url_with_its_options_is_used_as_given(tmp_path, postgres_url, mode):
    plain = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    url = f"{plain}?sslmode={mode}&connect_timeout=5&application_name=cib-intake"
    code, out, err = await _cib("db", "upgrade", cwd=tmp_path, env={"CIB_DATABASE_URL": url})
    assert code == 0, err
    code, out, err = await _cib("check", cwd=tmp_path, env={"CIB_DATABASE_URL": url})
    assert code == 0, err
    assert "unexpected keyword" not in err


async def test_sslmode_require_on_a_server_without_tls_says_so(tmp_path, postgres_url):
    plain = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    code, _, err = await _cib("export", cwd=tmp_path, env={"CIB_DATABASE_URL": f"{plain}?sslmode=require"})
    assert code == 2
    assert "Cannot reach the database" in err and "CIB_DATABASE_URL" in err
    assert "unexpected keyword" not in err and "Traceback" not in err


def test_libpq_options_become_asyncpg_arguments():
    options = pg_options("postgresql+asyncpg://cib:pw@db.example.org/cib?sslmode=disable&connect_timeout=7"
                         "&application_name=cib&target_session_attrs=read-write")
    assert options.url.query == {}
    assert options.connect_args == {"ssl": False, "timeout": 7.0, "server_settings": {"application_name": "cib"},
                                    "target_session_attrs": "read-write"}
    assert pg_options("postgresql+asyncpg://db/cib?sslmode=prefer").connect_args == {"ssl": "prefer"}
    assert pg_options("postgresql+asyncpg://db/cib").connect_args == {}


def test_each_sslmode_is_the_context_libpq_would_use(tmp_path):
    cert, key = self_signed(tmp_path)
    require = ssl_argument("require")
    assert isinstance(require, ssl.SSLContext)
    assert require.verify_mode == ssl.CERT_NONE and not require.check_hostname
    # libpq: require with a root certificate checks the server's certificate, as verify-ca.
    assert ssl_argument("require", rootcert=str(cert)).verify_mode == ssl.CERT_REQUIRED
    verify_ca = ssl_argument("verify-ca", rootcert=str(cert))
    assert verify_ca.verify_mode == ssl.CERT_REQUIRED and not verify_ca.check_hostname
    verify_full = ssl_argument("verify-full", rootcert=str(cert), cert=str(cert), key=str(key))
    assert verify_full.verify_mode == ssl.CERT_REQUIRED and verify_full.check_hostname
    assert ssl_argument("verify-full").verify_mode == ssl.CERT_REQUIRED  # the system's authorities
    assert ssl_argument("disable") is False and ssl_argument("allow") == "allow"


@pytest.mark.parametrize("query, problem", [
    ("sslmode=sometimes", "sslmode='sometimes' is not one of"),
    ("sslmode=verify-full&sslrootcert=/nowhere/ca.pem", "sslrootcert=/nowhere/ca.pem: no such file"),
    ("sslmode=require&sslcert=/nowhere/client.pem", "sslcert=/nowhere/client.pem: no such file"),
    ("sslmode=prefer&sslcert=/nowhere/client.pem", "sslcert needs sslmode=require"),
    ("connect_timeout=soon", "connect_timeout='soon'"),
    ("sslfactory=org.postgresql.ssl.NonValidatingFactory", "'sslfactory' in the URL is not one the service knows"),
])
def test_url_options_the_engine_cannot_use_are_refused(query, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(".", r"\.")):
        pg_options(f"postgresql+asyncpg://db/cib?{query}")


def test_a_key_that_is_not_the_certificates_is_refused(tmp_path):
    cert, _ = self_signed(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, wrong_key = self_signed(other)
    with pytest.raises(ValueError, match="cannot be loaded"):
        ssl_argument("verify-full", cert=str(cert), key=str(wrong_key))
