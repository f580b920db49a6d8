"""Who sent an email: is the From domain proven (RFC 7489 DMARC, or a DKIM signature
aligned with it)?

Two modes. Behind a mail server that checks senders (`CIB_AUTHSERV_ID` set), `judge` reads
the Authentication-Results that server stamped, and nothing else. As the receiving server
itself, `check` verifies DKIM, SPF and DMARC over DNS. `EmailAuthenticator` picks the mode
and never raises: anything that goes wrong is "not proven", noted in the results.
"""
from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
from collections.abc import Collection, Iterable, Sequence
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses

import authres
import authres.arc
import authres.dmarc
import dkim
import dkim.util
import dns.exception
import dns.nameserver
import dns.resolver
import spf
from authheaders import dmarc_lookup, dmarc_per_from
from authheaders.dmarc_lookup import DMARCException, get_org_domain
from authres import DKIMAuthenticationResult, SPFAuthenticationResult
from authres.dmarc import DMARCAuthenticationResult
from publicsuffix2 import PublicSuffixList

from intake.mail.mime import raw_items
from intake.messages import Authentication
from intake.models import InboundMessage

# DMARC and ARC results parsed as their own classes, not as generic ones.
_AUTHRES = authres.FeatureContext(authres.dmarc, authres.arc)


@functools.lru_cache(maxsize=4)
def _suffix_list(location: str) -> PublicSuffixList:
    with open(location, encoding="utf-8") as lines:
        return PublicSuffixList(lines)


def _org_domain_from_suffix_list(location: object, domain: str) -> str:
    return str(_suffix_list(str(location)).get_public_suffix(domain))


# authheaders builds the whole public suffix list (about 10,000 rules, a quarter of a
# second) on every organisational-domain lookup, several times a message; the list is a
# file in its package, so one read is enough.
dmarc_lookup.get_org_domain_from_suffix_list = _org_domain_from_suffix_list

# --- pure: the From domain, the Authentication-Results we trust, the "proven" rule -------


def _headers(raw: bytes) -> list[tuple[str, str]]:
    """(name, raw value) of every header in order; compat32 never raises on broken ones."""
    try:
        return raw_items(BytesHeaderParser(policy=policy.compat32).parsebytes(raw))
    except Exception:  # noqa: BLE001
        return []


_HOSTNAME = re.compile(r"(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)+")


def from_domain(raw: bytes) -> str | None:
    """The lower-case domain of the From header's one address, None unless there is exactly
    one From header holding exactly one address with a domain.

    Parsed from the raw header, encoded words still encoded (as `mime.mailbox` does): a
    display name that decodes to "x@evil.test" must never become the address."""
    values = [value for name, value in _headers(raw) if name.lower() == "from"]
    if len(values) != 1:
        return None
    try:
        addresses = [addr for _, addr in getaddresses([" ".join(values[0].split())]) if addr.strip()]
    except Exception:  # noqa: BLE001
        return None
    if len(addresses) != 1 or "@" not in addresses[0]:
        return None
    domain = addresses[0].rpartition("@")[2].strip().rstrip(".")
    try:  # 8-bit bytes arrive surrogate-escaped; DNS wants the IDNA form
        domain = domain.encode("utf-8", "surrogateescape").decode("utf-8").encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return None
    domain = domain.lower()
    return domain if _HOSTNAME.fullmatch(domain) else None


def _org_domain(domain: str) -> str:
    """The organizational domain (RFC 7489 §3.2), from authheaders' bundled public suffix
    list: no network."""
    domain = domain.lower().strip().rstrip(".")
    try:
        org = get_org_domain(domain) or domain
    except Exception:  # noqa: BLE001
        org = domain
    # A TLD missing from the list (".test", ".internal") comes back bare, which would make
    # every domain under it one organization; the list's default rule "*" gives two labels.
    return org if "." in org else ".".join(domain.split(".")[-2:])


def _aligned(signer: str, domain: str) -> bool:
    """Relaxed alignment: the same organizational domain ("mail.leeds.gov.uk" and
    "leeds.gov.uk" are; "leeds.gov.uk" and "wigan.gov.uk" are not: gov.uk is a suffix)."""
    signer = signer.lower().strip().rstrip(".")
    return bool(signer) and _org_domain(signer) == _org_domain(domain)


def _prop(result: object, ptype: str, name: str) -> str:
    """A result's `ptype.name` property, lower-case, "" when absent."""
    for prop in getattr(result, "properties", None) or []:
        if prop.type == ptype and prop.name == name and prop.value:
            return str(prop.value).strip().lower()
    return ""


def proves(results: Iterable[object], domain: str | None) -> bool:
    """The one rule both modes apply: dmarc=pass for this From domain, or a dkim=pass whose
    signing domain (header.d) is aligned with it."""
    if not domain:
        return False
    for result in results:
        if getattr(result, "result", None) != "pass":
            continue
        method = getattr(result, "method", None)
        if method == "dmarc" and _prop(result, "header", "from").rpartition("@")[2].rstrip(".") == domain:
            return True
        if method == "dkim" and _aligned(_prop(result, "header", "d"), domain):
            return True
    return False


_AUTHSERV_ID = re.compile(r"\s*(?:\([^()]*\)\s*)*([^\s;()]+)")


def judge(header_values: Sequence[str], trusted_ids: Collection[str], domain: str | None) -> Authentication:
    """Authentication-Results as the trusted mail server in front of us stamped them.

    Anyone can write such a header, so only those with a trusted authserv-id count, and of
    those only the topmost: our border server prepends its own and must remove forged ones
    bearing its id (RFC 8601 §5), so one lower down may be a forgery. If that topmost one
    cannot be parsed it proves nothing; we do not fall back to a lower one."""
    trusted = {i.lower() for i in trusted_ids}
    for value in header_values:
        value = " ".join(value.split())
        match = _AUTHSERV_ID.match(value)
        if not match or match.group(1).lower() not in trusted:
            continue
        try:
            results = _AUTHRES.parse_value(value).results
        except Exception:  # noqa: BLE001 - authres raises several kinds on bad syntax
            return Authentication("authserv", domain, False, "")
        return Authentication("authserv", domain, proves(results, domain), value)
    return Authentication("authserv", domain, False, "")


def _header(authserv_id: str, results: list[object]) -> str:
    """An Authentication-Results value, without the field name."""
    return authres.AuthenticationResultsHeader(authserv_id=authserv_id, results=results).header_value()


def _reason(error: BaseException | str) -> str:
    """A short reason for the results. Plain words only: authres leaves a value holding
    "@" unquoted, and a library's message can hold anything."""
    if isinstance(error, dns.exception.Timeout):
        return "DNS timeout"
    if isinstance(error, dns.resolver.NoNameservers):
        return "DNS server failure"
    if isinstance(error, dns.resolver.NoResolverConfiguration):
        return "no DNS resolver"
    text = str(error).split(" (")[0]  # "body hash mismatch (got ..., expected ...)"
    text = re.sub(r"[^\w .,:/=-]", "", " ".join(text.split()))[:80].strip()
    return text or (type(error).__name__ if isinstance(error, BaseException) else "error")


# --- I/O: DNS, and the checks that use it ------------------------------------------------


def _server(text: str) -> tuple[str, int]:
    """"host", "host:port", "[v6]:port" or a bare IPv6 address -> (IP, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "53"
    try:
        ipaddress.ip_address(host)
    except ValueError:  # a name: dnspython wants an address; looked up once, at start
        host = socket.getaddrinfo(host, int(port), type=socket.SOCK_DGRAM)[0][4][0]
    return host, int(port)


DNS_CACHE_ENTRIES = 4096  # names: far more than the councils' domains, keys and policies


def configure_dns(servers: Sequence[str], timeout: float) -> None:
    """Point every DNS lookup the checks make at `servers` (the system's resolver when
    empty), each lookup given at most `timeout` seconds.

    Process-wide on purpose: pyspf, dkimpy and authheaders take no resolver argument; they
    all call dnspython's module-level resolve()/query(), i.e. dns.resolver.default_resolver."""
    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        # Do53Nameserver carries its own port (dnspython >= 2.4); no nameserver_ports needed.
        resolver.nameservers = [dns.nameserver.Do53Nameserver(*_server(s)) for s in servers]
    else:
        try:
            resolver = dns.resolver.Resolver()
        except dns.exception.DNSException:  # no resolv.conf: every lookup will temperror
            dns.resolver.default_resolver = None
            return
    resolver.timeout = resolver.lifetime = timeout
    # Answers kept for their TTL: a burst from one council asks for its keys once.
    resolver.cache = dns.resolver.LRUCache(DNS_CACHE_ENTRIES)
    dns.resolver.default_resolver = resolver


class _Unanswered(Exception):
    """DNS did not answer (timeout, SERVFAIL, no resolver): a temporary error, unlike
    NXDOMAIN. dkimpy's own lookup folds both into "no key", i.e. fail."""


def _dkim_txt(name: bytes, timeout: float = 5) -> bytes | None:
    """dkimpy's `dnsfunc`: the key record, through the configured resolver and its limits."""
    try:
        answer = dns.resolver.resolve(name.decode("ascii"), "TXT")
    except (UnicodeDecodeError, dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    except dns.exception.DNSException as error:
        raise _Unanswered(_reason(error)) from error
    for rdata in answer:
        return b"".join(rdata.strings)
    return None


def _dkim(raw: bytes) -> list[DKIMAuthenticationResult]:
    """One result per DKIM-Signature: dkimpy checks one signature per verify(idx=i) call."""
    try:
        verifier = dkim.DKIM(raw)
    except Exception as error:  # noqa: BLE001
        return [DKIMAuthenticationResult(result="permerror", reason=_reason(error))]
    signatures = [value for name, value in verifier.headers if name.lower() == b"dkim-signature"]
    if not signatures:
        return [DKIMAuthenticationResult(result="none")]
    results: list[DKIMAuthenticationResult] = []
    for idx, signature in enumerate(signatures):
        try:
            tags = dkim.util.parse_tag_value(signature)
        except Exception:  # noqa: BLE001
            tags = {}
        reason = None
        try:
            verdict = "pass" if verifier.verify(idx=idx, dnsfunc=_dkim_txt) else "fail"
        except _Unanswered as error:
            verdict, reason = "temperror", str(error)
        except dkim.ValidationError as error:  # body hash mismatch, expired...
            verdict, reason = "fail", _reason(error)
        except Exception as error:  # noqa: BLE001 - unparseable signature, key, algorithm
            verdict, reason = "permerror", _reason(error)
        results.append(DKIMAuthenticationResult(
            result=verdict, reason=reason,
            header_d=tags.get(b"d", b"").decode("ascii", "replace").strip() or None,
            header_s=tags.get(b"s", b"").decode("ascii", "replace").strip() or None,
        ))
    return results


def _spf(ip: str, mail_from: str, helo: str) -> SPFAuthenticationResult:
    try:
        lifetime = dns.resolver.get_default_resolver().lifetime
    except Exception:  # noqa: BLE001
        lifetime = 20.0
    try:
        # querytime bounds the whole SPF evaluation, not each of its (up to 10) lookups.
        verdict, explanation = spf.check2(i=ip, s=mail_from, h=helo, querytime=lifetime)
    except Exception as error:  # noqa: BLE001
        verdict, explanation = "permerror", _reason(error)
    return SPFAuthenticationResult(
        result=verdict or "none",
        reason=_reason(explanation) if verdict in ("temperror", "permerror") else None,
        smtp_mailfrom=mail_from or None, smtp_helo=helo or None,
    )


def _dmarc(domain: str | None, spf_result: SPFAuthenticationResult | None,
           dkim_results: list[DKIMAuthenticationResult]) -> DMARCAuthenticationResult:
    if not domain:
        return DMARCAuthenticationResult(result="permerror", reason="no single From domain")
    # authheaders weighs one DKIM result: give it the best (exact signer, then aligned).
    passed = [r for r in dkim_results if r.result == "pass"]
    passed.sort(key=lambda r: (_prop(r, "header", "d") != domain, not _aligned(_prop(r, "header", "d"), domain)))
    best = passed[0] if passed else None
    # A copy: authheaders rewrites its smtp.mailfrom to the bare domain. With a null MAIL
    # FROM, SPF checked postmaster@HELO (RFC 7208 §2.4); that is the identity to align.
    spf_identity = None
    if spf_result is not None:
        spf_identity = SPFAuthenticationResult(
            result=spf_result.result,
            smtp_mailfrom=spf_result.smtp_mailfrom or f"postmaster@{spf_result.smtp_helo or ''}",
        )
    try:
        verdict, _, _, dmarc_policy = dmarc_per_from(domain, spf_result=spf_identity, dkim_result=best)
    except DMARCException as error:
        return DMARCAuthenticationResult(result="permerror", reason=_reason(error), header_from=domain)
    except Exception as error:  # noqa: BLE001 - DNS timeout, no resolver (dnspython raises them)
        return DMARCAuthenticationResult(result="temperror", reason=_reason(error), header_from=domain)
    return DMARCAuthenticationResult(result=verdict, header_from=domain, policy=dmarc_policy or None)


def check(raw: bytes, *, ip: str, mail_from: str, helo: str, authserv_id: str, domain: str | None) -> Authentication:
    """Our own DKIM (every signature), SPF (when the client's IP is known) and DMARC
    checks. Blocking DNS; never raises."""
    try:
        dkim_results = _dkim(raw)
        mail_from = "" if mail_from.strip() in ("", "<>") else mail_from.strip().strip("<>")
        try:
            ipaddress.ip_address(ip)
            spf_result: SPFAuthenticationResult | None = _spf(ip, mail_from, helo)
        except ValueError:
            spf_result = None
        dmarc_result = _dmarc(domain, spf_result, dkim_results)
        results: list[object] = [*dkim_results, *([spf_result] if spf_result else []), dmarc_result]
    except Exception as error:  # noqa: BLE001 - last resort
        results = [DMARCAuthenticationResult(result="permerror", reason=_reason(error))]
    return Authentication("checked", domain, proves(results, domain), _header(authserv_id, results))


class EmailAuthenticator:
    """The email channel's sender check, for one kept message (an `InboundMessage` row)."""

    def __init__(self, *, trusted_ids: Sequence[str], authserv_id: str, timeout: float) -> None:
        self.trusted_ids = tuple(i.lower() for i in trusted_ids)
        self.authserv_id = authserv_id
        self.timeout = timeout

    async def __call__(self, row: InboundMessage) -> Authentication:
        raw = row.raw or b""
        domain = from_domain(raw)
        if self.trusted_ids:
            values = [value for name, value in _headers(raw) if name.lower() == "authentication-results"]
            return judge(values, self.trusted_ids, domain)
        meta = row.meta or {}
        try:
            # Each lookup is bounded by the resolver; this bounds them all. The thread cannot
            # be stopped, and finishes on its own within its lookups' limits.
            return await asyncio.wait_for(asyncio.to_thread(
                check, raw, ip=str(meta.get("peer") or ""), mail_from=str(meta.get("envelope_from") or ""),
                helo=str(meta.get("helo") or ""), authserv_id=self.authserv_id, domain=domain,
            ), timeout=4 * self.timeout)
        except Exception as error:  # noqa: BLE001 - TimeoutError, or anything unforeseen
            reason = "timed out" if isinstance(error, TimeoutError) else _reason(error)
            results: list[object] = [
                DKIMAuthenticationResult(result="temperror", reason=reason),
                DMARCAuthenticationResult(result="temperror", header_from=domain),
            ]
            return Authentication("checked", domain, False, _header(self.authserv_id, results))
