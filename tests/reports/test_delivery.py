"""Mailing packs: one email per recipient group and per user, attachments or signed links
that expire, failures kept with their error; the schedule run."""

import datetime
import re
import smtplib

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.urls import reverse
from django.utils import timezone

from reports.delivery import link_token
from reports.models import ArchivedReport, PackSchedule, ReportDelivery
from reports.services import ReportDeliveryError, pack_deliver, pack_schedule_run
from tests.factories import UserFactory
from tests.reports.factories import (
    MARCH_2026,
    QUICK_REPORTS,
    GroupFactory,
    PackScheduleFactory,
    ReportPackFactory,
    reports_storage_at,
    user_with_perms,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _storage(monkeypatch, settings, tmp_path):
    reports_storage_at(monkeypatch, tmp_path)
    settings.FINHUB_BASE_URL = "https://finhub.example.test"


@pytest.fixture
def board():
    """A group with two members who get mail, one inactive and one without an address."""
    group = GroupFactory(name="Board")
    for name, active, email in [
        ("bea", True, "bea@example.test"),
        ("al", True, "al@example.test"),
        ("gone", False, "gone@example.test"),
        ("noaddr", True, ""),
    ]:
        UserFactory(username=name, is_active=active, email=email).groups.add(group)
    return group


def _file(archived: ArchivedReport) -> bytes:
    with archived.file.open("rb") as handle:
        return handle.read()


def test_one_email_per_group_and_one_per_user_with_the_attachment(mailoutbox, board):
    cfo = UserFactory(username="cfo", email="cfo@example.test")
    pack = ReportPackFactory(name="Board pack", reports=QUICK_REPORTS)

    deliveries = pack_deliver(
        pack=pack, period=MARCH_2026, groups=[board], users=[cfo], formats=("pdf",)
    )

    assert len(mailoutbox) == 2
    group_mail, user_mail = mailoutbox
    assert group_mail.to == ["al@example.test", "bea@example.test"]
    assert user_mail.to == ["cfo@example.test"]
    (archived,) = ArchivedReport.objects.all()
    assert archived.trigger == "close"
    for mail in mailoutbox:
        assert mail.subject == "Board pack: March 2026"
        ((name, content, mimetype),) = mail.attachments
        assert name == archived.filename
        assert mimetype == "application/pdf"
        assert content == _file(archived)
        assert archived.checksum in mail.body
    assert [(d.group, d.user, d.status) for d in deliveries] == [
        (board, None, "sent"),
        (None, cfo, "sent"),
    ]
    assert deliveries[0].recipients == "al@example.test, bea@example.test"
    assert all(list(d.files.all()) == [archived] for d in deliveries)


def test_a_scheduled_run_mails_each_group_and_user_and_records_the_run(mailoutbox, board):
    cfo = UserFactory(username="cfo", email="cfo@example.test")
    schedule = PackScheduleFactory(
        formats="pdf+xlsx", recipient_groups=[board], recipient_users=[cfo]
    )
    now = timezone.make_aware(datetime.datetime(2026, 4, 2, 7, 0))

    assert pack_schedule_run(schedule_id=schedule.pk, now=now) == "sent 2 of 2 email(s)"

    assert [m.to for m in mailoutbox] == [
        ["al@example.test", "bea@example.test"],
        ["cfo@example.test"],
    ]
    for mail in mailoutbox:
        assert [a[2] for a in mail.attachments] == [
            "application/pdf",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ]
        assert "March 2026" in mail.subject  # the previous month on 2 April
    schedule.refresh_from_db()
    assert schedule.last_run_at == now
    assert schedule.last_error == ""
    assert set(ArchivedReport.objects.values_list("trigger", "schedule")) == {
        ("schedule", schedule.pk)
    }
    assert ReportDelivery.objects.filter(schedule=schedule, status="sent").count() == 2

    # The same beat message delivered twice (a lost worker): the second run does nothing.
    later = now + datetime.timedelta(minutes=1)
    assert pack_schedule_run(schedule_id=schedule.pk, now=later).startswith("skipped")
    assert len(mailoutbox) == 2


def test_a_disabled_schedule_sends_nothing(mailoutbox, board):
    schedule = PackScheduleFactory(enabled=False, recipient_groups=[board])
    assert pack_schedule_run(schedule_id=schedule.pk).startswith("skipped")
    assert mailoutbox == []


def test_nobody_with_an_address_generates_and_sends_nothing(mailoutbox):
    silent = GroupFactory(name="Silent")
    UserFactory(username="quiet", email="").groups.add(silent)
    pack = ReportPackFactory(reports=QUICK_REPORTS)
    with pytest.raises(ReportDeliveryError, match="No recipient has an email address"):
        pack_deliver(pack=pack, period=MARCH_2026, groups=[silent])
    assert mailoutbox == []
    assert not ArchivedReport.objects.exists()
    assert not ReportDelivery.objects.exists()


def test_a_schedule_that_cannot_deliver_keeps_the_reason(mailoutbox):
    schedule = PackScheduleFactory(recipient_users=[UserFactory(username="x", email="")])
    assert pack_schedule_run(schedule_id=schedule.pk).startswith("failed")
    schedule.refresh_from_db()
    assert "No recipient has an email address" in schedule.last_error


def test_a_failed_send_is_kept_with_its_error_but_never_the_password(
    settings, monkeypatch, mailoutbox
):
    settings.EMAIL_HOST_PASSWORD = "s3cret-pw"

    def refuse(self, messages):
        raise smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials s3cret-pw")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    pack = ReportPackFactory(reports=QUICK_REPORTS)
    cfo = UserFactory(username="cfo", email="cfo@example.test")

    with pytest.raises(ReportDeliveryError, match="No email was sent"):
        pack_deliver(pack=pack, period=MARCH_2026, users=[cfo])

    (failed,) = ReportDelivery.objects.all()
    assert failed.status == "failed"
    assert "SMTPAuthenticationError" in failed.error
    assert "s3cret-pw" not in failed.error
    assert failed.user == cfo
    # The pack was generated and stays archived: the delivery can be retried from it.
    assert ArchivedReport.objects.count() == 1


def test_a_group_without_addresses_is_recorded_failed_while_the_others_get_mail(mailoutbox):
    silent = GroupFactory(name="Silent")
    cfo = UserFactory(username="cfo", email="cfo@example.test")
    pack = ReportPackFactory(reports=QUICK_REPORTS)

    group_delivery, user_delivery = pack_deliver(
        pack=pack, period=MARCH_2026, groups=[silent], users=[cfo]
    )

    assert len(mailoutbox) == 1
    assert group_delivery.status == "failed"
    assert "no active member with an email address" in group_delivery.error
    assert user_delivery.status == "sent"


def _links(body: str) -> list[str]:
    return re.findall(r"https://finhub\.example\.test(/reports/links/\S+/)", body)


def test_links_work_for_a_recipient_until_they_expire(client, mailoutbox, board):
    pack = ReportPackFactory(reports=QUICK_REPORTS)
    (delivery,) = pack_deliver(
        pack=pack,
        period=MARCH_2026,
        groups=[board],
        formats=("pdf", "xlsx"),
        method="link",
        link_hours=48,
        trigger="schedule",
    )
    (mail,) = mailoutbox
    assert mail.attachments == []
    pdf_link, xlsx_link = _links(mail.body)
    pdf = ArchivedReport.objects.get(format="pdf")
    assert delivery.link_expires_at == delivery.sent_at + datetime.timedelta(hours=48)

    # A recipient (a member of the group, no archive permission) downloads the file.
    bea = board.user_set.get(username="bea")
    client.force_login(bea)
    response = client.get(pdf_link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == _file(pdf)

    # Signed 49 hours ago: expired.
    signed_then = timezone.now() - datetime.timedelta(hours=49)
    old = link_token(delivery_id=delivery.pk, archived_id=pdf.pk, hours=48, at=signed_then)
    expired = client.get(reverse("reports:signed_download", args=[old]))
    assert expired.status_code == 410
    assert "expired" in expired.content.decode()
    # Signed 47 hours ago: still valid.
    recent = link_token(
        delivery_id=delivery.pk,
        archived_id=pdf.pk,
        hours=48,
        at=timezone.now() - datetime.timedelta(hours=47),
    )
    assert client.get(reverse("reports:signed_download", args=[recent])).status_code == 200
    # Tampered with: refused.
    assert client.get(xlsx_link.replace(":", "x:", 1)).status_code == 403


def test_a_link_needs_a_login_and_a_recipient_or_the_archive_permission(
    client, mailoutbox, finance_viewer
):
    cfo = UserFactory(username="cfo", email="cfo@example.test")
    pack = ReportPackFactory(reports=QUICK_REPORTS)
    pack_deliver(pack=pack, period=MARCH_2026, users=[cfo], method="link")
    (link,) = _links(mailoutbox[0].body)

    anonymous = client.get(link)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))

    client.force_login(user_with_perms("core.view_dashboards", username="eve"))
    assert client.get(link).status_code == 403

    client.force_login(finance_viewer)  # not a recipient, but may read the archive
    assert client.get(link).status_code == 200


def test_schedule_link_hours_reach_the_email(mailoutbox):
    cfo = UserFactory(username="cfo", email="cfo@example.test")
    schedule = PackScheduleFactory(method="link", link_hours=5, recipient_users=[cfo])
    pack_schedule_run(schedule_id=schedule.pk)
    delivery = ReportDelivery.objects.get()
    assert delivery.method == PackSchedule.Method.LINK
    assert delivery.link_expires_at - delivery.sent_at == datetime.timedelta(hours=5)
    assert len(_links(mailoutbox[0].body)) == 1
