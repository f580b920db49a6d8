"""Inbound STARTTLS over real SMTP on loopback, with a self-signed certificate made here:
offered when a certificate and key are set, and required when CIB_SMTP_REQUIRE_TLS is."""
from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from intake.runtime.composition import create_service
from tests.mailer import message

PBR = """
    Council: London Borough of Camden
    Contact name: Jane Smith
    Contact role: Head of Early Help
    Number of children's centres: 12
"""


def self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def client_context(cert_path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert_path))
    context.check_hostname = False  # the test connects to 127.0.0.1
    return context


@pytest.mark.parametrize("required", [False, True])
async def test_starttls_with_a_self_signed_certificate(settings_factory, clock, tmp_path, required):
    cert_path, key_path = self_signed(tmp_path)
    settings = settings_factory(smtp_tls_cert=cert_path, smtp_tls_key=key_path, smtp_require_tls=required)
    runtime = create_service(settings, clock=clock)
    await runtime.start(slack=False, scheduler=False)
    port = runtime.smtp_port

    def talk() -> tuple[bool, int | None, str | None]:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            offered = client.has_extn("starttls")
            plain = None
            if required:  # nothing but EHLO, STARTTLS and QUIT before TLS
                plain = client.mail("jane.smith@camden.gov.uk")[0]
            client.starttls(context=client_context(cert_path))
            client.ehlo()
            client.sendmail("jane.smith@camden.gov.uk", ["eoi@cib.test"], message(PBR, subject="PbR pathfinder"))
            return offered, plain, client.sock.version()

    try:
        offered, plain, version = await asyncio.to_thread(talk)
        assert offered and version and version.startswith("TLSv1.")
        assert plain == (530 if required else None)
        await runtime.queue.drain()
        data = await runtime.service.export()
        assert [s["reference"] for s in data["submissions"]] == ["PBR-0001"]
    finally:
        await runtime.stop()


def test_requiring_tls_without_a_certificate_is_refused_with_the_settings(settings_factory):
    # Refused as the settings load, so `cib check` refuses it too (tests/test_operator_first_day.py).
    with pytest.raises(ValidationError, match="STARTTLS cannot be required without a certificate"):
        settings_factory(smtp_require_tls=True)
