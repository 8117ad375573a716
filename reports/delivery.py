"""Mailing generated report files: the recipients' addresses, the message (files attached or
signed download links) and the signed links themselves.

A link is ``/reports/links/<token>/`` where the token signs (django.core.signing, salted) the
delivery, the archived file and how many hours the link works; the view refuses it once
that many hours have passed since it was signed. The link still needs a login, and the
person must be a recipient of that delivery or allowed to read the archive.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import signing
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse

from finhub.core.calendar import (
    CUSTOM,
    Period,
    add_months,
    month_of,
    month_period,
    quarter_period,
)
from reports.models import ArchivedReport, PackSchedule, ReportDelivery, ReportPack
from reports.rendering import CONTENT_TYPES

LINK_SALT = "reports.signed_download"
SEND_TIMEOUT_SECONDS = 30


def attachment_type(fmt: str) -> str:
    """The MIME type of an attached file (without parameters: the mail adds its own)."""
    return CONTENT_TYPES.get(fmt, "application/octet-stream").split(";")[0]


class LinkError(Exception):
    """A download link that cannot be used; ``expired`` tells a link that was valid once."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


# --- Periods of a schedule -------------------------------------------------------------


def schedule_period(kind: str, today: dt.date) -> Period:
    """The period a schedule run reports on ``today``."""
    if kind == PackSchedule.PeriodChoice.PREVIOUS_MONTH:
        return month_period(add_months(month_of(today), -1))
    if kind == PackSchedule.PeriodChoice.MONTH_TO_DATE:
        # A custom range, so its label says where it ends ("1 Mar 2026 - 14 Mar 2026").
        return Period(CUSTOM, month_of(today), today)
    if kind == PackSchedule.PeriodChoice.PREVIOUS_QUARTER:
        first = add_months(month_of(today).replace(month=(today.month - 1) // 3 * 3 + 1), -3)
        return quarter_period(first.year, (first.month - 1) // 3 + 1)
    raise ValueError(f"unknown schedule period {kind!r}")


# --- Recipients ------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Who one email goes to: a group (its active members with an email) or one user."""

    group: Group | None
    user: object | None
    addresses: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"group {self.group.name}" if self.group is not None else f"user {self.user}"


def recipients_resolve(*, users: Iterable = (), groups: Iterable[Group] = ()) -> list[Recipient]:
    """One recipient per group and per user, in that order, with their addresses (one query
    for every group's members)."""
    groups = list(groups)
    by_group: dict[int, list[str]] = {group.pk: [] for group in groups}
    if groups:
        through = get_user_model().groups.through
        memberships = (
            through.objects.filter(group__in=groups, user__is_active=True)
            .exclude(user__email="")
            .order_by("user__email")
            .values_list("group_id", "user__email")
        )
        for group_id, email in memberships:
            if email not in by_group[group_id]:
                by_group[group_id].append(email)
    recipients = [Recipient(group, None, tuple(by_group[group.pk])) for group in groups]
    for user in users:
        addresses = (user.email,) if user.is_active and user.email else ()
        recipients.append(Recipient(None, user, addresses))
    return recipients


# --- Signed links ----------------------------------------------------------------------


class _Signer(signing.TimestampSigner):
    """A TimestampSigner that can sign as of a given time (tests sign in the past)."""

    def __init__(self, *, at: dt.datetime | None = None) -> None:
        super().__init__(salt=LINK_SALT)
        self._at = at

    def timestamp(self) -> str:
        if self._at is None:
            return super().timestamp()
        return signing.b62_encode(int(self._at.timestamp()))


def link_token(*, delivery_id: int, archived_id: int, hours: int, at=None) -> str:
    """The signed token of one file of one delivery, valid ``hours`` after ``at`` (now)."""
    return _Signer(at=at).sign_object({"d": delivery_id, "f": archived_id, "h": hours})


def link_read(token: str) -> tuple[int, int]:
    """(delivery id, archived file id) of a valid token; raises LinkError otherwise."""
    signer = _Signer()
    try:
        data = signer.unsign_object(token)  # the signature first: then "h" can be trusted
        signer.unsign_object(token, max_age=dt.timedelta(hours=int(data["h"])))
        return int(data["d"]), int(data["f"])
    except signing.SignatureExpired:
        raise LinkError(
            "This download link has expired. Ask for the report again, or open it from the "
            "archive if you may.",
            expired=True,
        ) from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkError("This download link is not valid (it may have been cut short).") from None


def link_url(*, delivery: ReportDelivery, archived: ArchivedReport, hours: int, at=None) -> str:
    token = link_token(delivery_id=delivery.pk, archived_id=archived.pk, hours=hours, at=at)
    path = reverse("reports:signed_download", kwargs={"token": token})
    return f"{settings.FINHUB_BASE_URL.rstrip('/')}{path}"


# --- The message -----------------------------------------------------------------------


def message_subject(*, pack: ReportPack, period: Period) -> str:
    return f"{pack.name}: {period.label}"


def message_body(
    *,
    pack: ReportPack,
    period: Period,
    files: Sequence[ArchivedReport],
    links: dict[int, str] | None,
    link_expires_at: dt.datetime | None,
) -> str:
    """The text of the email: what the pack holds and either "attached" or one link per file."""
    lines = [f"{pack.name} for {period.label} ({period.start} to {period.end}).", ""]
    if links is None:
        lines.append("The files are attached:")
        lines += [f"- {f.filename} ({f.size:,} bytes, SHA-256 {f.checksum})" for f in files]
    else:
        when = f"{link_expires_at:%Y-%m-%d %H:%M %Z}" if link_expires_at else ""
        lines.append(f"Download the files (you will be asked to log in; links work until {when}):")
        lines += [f"- {f.filename}: {links[f.pk]}" for f in files]
    archive = f"{settings.FINHUB_BASE_URL.rstrip('/')}{reverse('reports:archive')}"
    lines += ["", f"Every generated file is kept in the report archive: {archive}"]
    return "\n".join(lines) + "\n"


def _scrub(text: str) -> str:
    # SMTP errors quote the server's answer, never our password; make sure of it anyway.
    password = getattr(settings, "EMAIL_HOST_PASSWORD", "")
    return text.replace(password, "***") if password else text


def message_send(
    *,
    subject: str,
    body: str,
    to: Sequence[str],
    attachments: Sequence[tuple[str, bytes, str]] = (),
    connection=None,
) -> None:
    """Send one email; raises ``DeliveryFailed`` with a message safe to store."""
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        connection=connection
        or get_connection(timeout=settings.EMAIL_TIMEOUT or SEND_TIMEOUT_SECONDS),
    )
    for name, content, mimetype in attachments:
        message.attach(name, content, mimetype)
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(_scrub(f"{type(exc).__name__}: {exc}")[:500]) from exc


class DeliveryFailed(Exception):
    """One email was not sent; the message says why (safe to store and show)."""
