"""Email delivery with smtplib: one multipart/alternative message per recipient (Markdown as text/plain,
digest.html as text/html with the chart inline by cid), over STARTTLS, implicit TLS or plain SMTP."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from digest.config import Config, EmailConfig
from digest.deliver.channels import Channel, ChannelError, Check, Prepared, content_hash
from digest.plugins import register_channel
from digest.render import mail_html, standalone_html
from digest.report import Report
from digest.secrets import add_secret, scrub


class EmailError(Exception):
    """An SMTP failure as one line; never contains the password."""


def subject_for(report: Report) -> str:
    """`[arXiv 다이제스트] 2026-06-30 · 715편`; for a recipient of some topics, each of them with its count."""
    if report.topics is None:
        counted = f"{len(report.digest.papers)}편"
    else:
        counted = " · ".join(f"{t} {report.digest.counts.get(t, 0)}편" for t in report.topics)
    kind = "주간 다이제스트" if report.digest.week else "다이제스트"
    return f"[arXiv {kind}] {report.digest.label} · {counted}"


def build_message(report: Report, sender: str, recipient: str, body: MailBody | None = None) -> EmailMessage:
    """One recipient's message; `body` is the HTML body made once per report (mail_body), made here if absent."""
    body = body or mail_body(report)
    msg = EmailMessage()
    msg["Subject"] = subject_for(report)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="arxiv-digest.local")
    msg.set_content(report.markdown)
    # digest.html points at the chart by file name (it sits beside it on disk); in the mail it is a cid: part.
    msg.add_alternative(body.html, subtype="html")
    msg.get_payload()[1].add_related(
        report.chart,
        maintype="image",
        subtype="png",
        cid=body.chart_cid,
        filename=report.chart_name,
        disposition="inline",
    )
    if not report.digest.site_url:
        # The body is the phone-sized part of the day; with no site page to link, the syntheses and every
        # paper come along as one file (the chart inside), as the body says.
        msg.add_attachment(standalone_html(report), subtype="html", filename="digest.html")
    return msg


@dataclass(frozen=True)
class MailBody:
    """The HTML body of one report's mail, rendered once for every recipient, and its chart's Content-ID."""

    html: str
    chart_cid: str


def mail_body(report: Report) -> MailBody:
    cid = make_msgid(domain="arxiv-digest.local")
    return MailBody(mail_html(report, cid), cid)


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def describe(exc: BaseException, where: str) -> str:
    """One line for an SMTP, TLS or network failure."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{where}: login refused ({exc.smtp_code} {_text(exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return f"{where}: recipient refused ({code} {_text(text)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where}: SMTP {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{where}: {exc} (check delivery.email.security)"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        reason = getattr(exc, "reason", None) or exc
        return f"{where}: TLS failed ({reason}); check delivery.email.security, smtp_port and ca_file"
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"{where}: timed out"
    if isinstance(exc, OSError | smtplib.SMTPException):
        return f"{where}: {type(exc).__name__}: {exc}"
    return f"{where}: {type(exc).__name__}"


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())


class SMTPSession:
    """One connection for all recipients, opened on first use; a failed connect or login is remembered so
    the remaining recipients fail at once instead of each waiting for a timeout."""

    def __init__(self, config: EmailConfig, password: str | None, ca_file: Path | None = None) -> None:
        self.config = config
        self.password = password
        add_secret(password, config.username)
        self.ca_file = ca_file
        self._smtp: smtplib.SMTP | None = None
        self._broken: str | None = None

    @property
    def where(self) -> str:
        return f"SMTP {self.config.smtp_host}:{self.config.smtp_port} ({self.config.security})"

    def open(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        if self._broken:
            raise EmailError(self._broken)
        cfg = self.config
        if cfg.username and not self.password:
            self._broken = f"delivery.email.username is set but {cfg.password_env} is not (environment or .env)"
            raise EmailError(self._broken)
        smtp: smtplib.SMTP | None = None
        try:
            if cfg.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_seconds, context=tls_context(self.ca_file)
                )
            else:
                smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_seconds)
                if cfg.security == "starttls":
                    smtp.starttls(context=tls_context(self.ca_file))
            if cfg.username:
                login(smtp, cfg.username, self.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            if smtp is not None:
                _quietly_close(smtp)
            self._broken = self.scrub(describe(exc, self.where))
            raise EmailError(self._broken) from None
        self._smtp = smtp
        return smtp

    def send(self, message: EmailMessage, recipient: str) -> None:
        smtp = self.open()
        try:
            smtp.send_message(message, to_addrs=[recipient])
        except smtplib.SMTPServerDisconnected as exc:
            self._smtp = None
            raise EmailError(self.scrub(describe(exc, self.where))) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise EmailError(self.scrub(describe(exc, self.where))) from None

    def close(self) -> None:
        if self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None

    def scrub(self, text: str) -> str:
        """Text without the password, as typed or as AUTH carries it (a server may echo the command)."""
        return scrub(text)


def login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """smtplib's login, except that a non-ASCII user name or password goes as UTF-8 in AUTH PLAIN
    (RFC 4616); smtplib encodes AUTH as ASCII and would raise UnicodeEncodeError."""
    if (username + password).isascii():
        smtp.login(username, password)
        return
    smtp.ehlo_or_helo_if_needed()
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    if "PLAIN" not in smtp.esmtp_features["auth"].upper().split():
        raise smtplib.SMTPException("a non-ASCII password needs AUTH PLAIN, which this server does not offer")
    blob = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, response = smtp.docmd("AUTH", "PLAIN " + blob)
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, response)


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


@register_channel
class EmailChannel(Channel):
    """One multipart message per recipient over one SMTP connection (see SMTPSession)."""

    name = "email"
    config_model = EmailConfig
    settings: EmailConfig

    def __init__(self, config: Config, settings: EmailConfig) -> None:
        super().__init__(config, settings)
        password = config.secret(settings.password_env) if settings.username else None
        ca_file = config.resolve(settings.ca_file) if settings.ca_file else None
        self._session = SMTPSession(settings, password, ca_file)

    def prepare(self, report: Report) -> Prepared:
        return Prepared(content_hash(report.markdown, report.html, report.chart), 1, (report, mail_body(report)))

    def deliver(self, prepared: Prepared, target: str, *, start: int, on_sent: Callable[[int], None]) -> None:
        try:
            report, body = prepared.payload  # type: ignore[misc]
            self._session.send(build_message(report, self.settings.sender, target, body), target)
        except EmailError as exc:
            raise ChannelError(str(exc)) from None
        on_sent(1)

    def close(self) -> None:
        self._session.close()

    def check(self) -> list[Check]:
        cfg = self.settings
        if not cfg.recipients:
            return [Check("email", False, "delivery.email.recipients is empty")]
        try:
            self._session.open()
        except EmailError as exc:
            return [Check("email", False, str(exc))]
        finally:
            self._session.close()
        login = f", logged in as {cfg.username}" if cfg.username else ", no login (delivery.email.username is null)"
        where = f"{cfg.smtp_host}:{cfg.smtp_port} {cfg.security}"
        return [Check("email", True, f"ok ({where}{login}; {len(cfg.recipients)} recipient(s))")]
