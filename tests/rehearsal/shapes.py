"""A planned step as the bytes a council's mail client would send: label lines, Outlook's
HTML, a letter in prose, a covering note with a Word, PDF or Excel form attached, an
amendment, a withdrawal, a reply to our "what's missing" email, an out-of-office answer, a
bounce."""
from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime

from intake.campaign.definition import Campaign
from tests.office_documents import DOCX, XLSX, excel_form, pdf, word_form
from tests.rehearsal.plan import Person, Step

INTAKE = "eoi@cib.test"
COVERING = "Hello,\n\nPlease find attached our completed expression of interest.\n\nKind regards\n{name}\n{role}"


def _mail(sender: Person, subject: str, *, to: str = INTAKE, moment: datetime | None = None,
          headers: dict[str, str] | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"{sender.name} <{sender.email}>" if sender.name else sender.email
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain=sender.email.rpartition("@")[2])
    if moment is not None:
        mail["Date"] = format_datetime(moment)
    for name, value in (headers or {}).items():
        mail[name] = value
    return mail


def lines(fields: dict[str, str]) -> str:
    return "\n".join(f"{label}: {value}" for label, value in fields.items())


def entry(step: Step, campaign: Campaign, moment: datetime) -> bytes:
    """An expression of interest in the step's shape (an email shape)."""
    assert step.person and step.offer
    offer = campaign.offer(step.offer)
    subject = f"Expression of interest: {offer.short_title}"
    mail = _mail(step.person, subject, moment=moment)
    rows = {"Offer": offer.short_title, **step.fields}
    sign_off = f"Kind regards\n{step.person.name}\n{step.person.role}"
    if step.shape == "outlook_html":
        cells = "".join(
            f"<tr><td style='border:solid windowtext 1.0pt'><p class=MsoNormal><b>{html.escape(k)}</b></p></td>"
            f"<td><p class=MsoNormal>{html.escape(v)}</p></td></tr>" for k, v in rows.items())
        mail.set_content(
            "<html><head><meta http-equiv=Content-Type content='text/html; charset=utf-8'></head>"
            "<body lang=EN-GB><div class=WordSection1><p class=MsoNormal>Dear CIB team,</p>"
            f"<table class=MsoTableGrid border=1 cellspacing=0>{cells}</table>"
            f"<p class=MsoNormal>{html.escape(sign_off).replace(chr(10), '<br>')}</p></div></body></html>",
            subtype="html")
    elif step.shape == "prose":
        mail.set_content(prose(step, campaign) + "\n")
    elif step.shape in ("docx", "pdf", "xlsx"):
        mail.set_content(COVERING.format(name=step.person.name, role=step.person.role) + "\n")
        pairs = list(rows.items())
        name = f"EOI {step.council.short_name if step.council else ''} {offer.short_title}"
        if step.shape == "docx":
            mail.add_attachment(word_form(pairs, title=f"Expression of interest: {offer.title}"),
                                maintype="application", subtype=DOCX.split("/")[1], filename=f"{name}.docx")
        elif step.shape == "xlsx":
            mail.add_attachment(excel_form(pairs, title=f"Expression of interest: {offer.title}"),
                                maintype="application", subtype=XLSX.split("/")[1], filename=f"{name}.xlsx")
        else:
            mail.add_attachment(pdf([f"{k}: {v}" for k, v in pairs]), maintype="application", subtype="pdf",
                                filename=f"{name}.pdf")
    else:  # label lines, as most people write
        mail.set_content(f"Dear CIB team,\n\n{lines(rows)}\n\n{sign_off}\n")
    return bytes(mail)


def prose(step: Step, campaign: Campaign) -> str:
    """A letter without label lines, the way a DCS's office writes one."""
    assert step.person and step.council and step.offer
    council = step.council.name
    if step.offer == "pbr-pathfinder":
        ask = (f"{council} would very much like to be considered as a Payment by Results pathfinder. "
               f"We currently run {step.fields.get('Number of children' + chr(39) + 's centres', '10')} "
               "children's centres across the area.")
    elif step.offer == "early-adopter":
        ask = (f"{council} would like to be an early adopter of the self-improvement cycle.\n\n"
               f"Areas for peer challenge: {step.fields.get('Areas for peer challenge', '')}")
    else:
        ask = (f"{council} would like to take up the children's centres support offer.\n\n"
               f"Support needed: {step.fields.get('Support needed', '')}")
    return (f"Dear colleagues,\n\n{ask}\n\nPlease do get in touch if you need anything further.\n\n"
            f"Kind regards,\n{step.person.name}\n{step.person.role}\n{council}")


def message_text(step: Step, campaign: Campaign) -> str:
    """What a Slack message (a DM to the bot) says for an entry."""
    assert step.offer
    return lines({"Offer": campaign.offer(step.offer).short_title, **step.fields})


def complete(step: Step, moment: datetime, *, in_reply_to: str, subject: str, quoted: str) -> bytes:
    """Outlook's reply to our "what's missing" email: the missing lines on top, ours quoted."""
    assert step.person
    mail = _mail(step.person, subject if subject.lower().startswith("re:") else f"RE: {subject}", moment=moment,
                 headers={"In-Reply-To": in_reply_to, "References": in_reply_to})
    quoted_text = "\n".join("> " + line for line in quoted.splitlines()[:30])
    mail.set_content(f"{lines(step.fields)}\n\nThanks\n{step.person.name}\n\n"
                     f"-----Original Message-----\n{quoted_text}\n")
    return bytes(mail)


def amend(step: Step, reference: str, moment: datetime) -> bytes:
    assert step.person
    mail = _mail(step.person, f"Change to {reference}", moment=moment)
    mail.set_content(f"Please update {reference}:\n\n{lines(step.fields)}\n\nThanks\n{step.person.name}\n")
    return bytes(mail)


def withdraw(step: Step, reference: str, moment: datetime) -> bytes:
    assert step.person
    mail = _mail(step.person, f"Withdraw {reference}", moment=moment)
    mail.set_content(f"Withdraw {reference}\n\nWe have decided not to go ahead this year.\n\n{step.person.name}\n")
    return bytes(mail)


def plain(person: Person, subject: str, body: str, moment: datetime, **headers: str) -> bytes:
    mail = _mail(person, subject, moment=moment, headers=headers)
    mail.set_content(body + "\n")
    return bytes(mail)


def nomination(step: Step, moment: datetime) -> bytes:
    assert step.person and step.region
    rows = {"Region": step.region}
    for role, who in step.leads.items():
        rows[role] = f"{who.name}, {who.email}"
    return plain(step.person, f"Regional leads - {step.region}", lines(rows), moment)


def out_of_office(person: Person, moment: datetime, about: str) -> bytes:
    return plain(person, f"Automatic reply: {about}",
                 "I am out of the office until Monday with limited access to email.", moment,
                 **{"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"})


def bounce(failed: str, moment: datetime, *, subject: str) -> bytes:
    """A delivery status notification for one of our messages, as Postfix writes it (RFC 3464)."""
    host = failed.rpartition("@")[2]
    boundary = "B0UNCE.1780300809/mail." + host
    return (
        f"From: MAILER-DAEMON@mail.{host} (Mail Delivery System)\r\n"
        f"To: {INTAKE}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(moment)}\r\nMessage-Id: <{moment:%Y%m%d%H%M%S}.B0UNCE@mail.{host}>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="{boundary}"\r\n\r\n'
        f"This is a MIME-encapsulated message.\r\n\r\n--{boundary}\r\n"
        "Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"This is the mail system at host mail.{host}.\r\n\r\n<{failed}>: 550 5.1.1 User unknown\r\n\r\n"
        f"--{boundary}\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mail.{host}\r\n\r\nFinal-Recipient: rfc822; {failed}\r\nAction: failed\r\n"
        f"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        f"--{boundary}\r\nContent-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: CIB programme team <{INTAKE}>\r\nTo: {failed}\r\nSubject: {subject}\r\n"
        f"Auto-Submitted: auto-generated\r\n\r\n--{boundary}--\r\n"
    ).encode()
