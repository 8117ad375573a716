"""The report archive: permission to list and download, streaming, retention."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reports.models import ArchivedReport, ReportDelivery
from reports.services import archive_prune, archive_store
from tests.reports.factories import (
    MARCH_2026,
    ArchivedReportFactory,
    PackScheduleFactory,
    ReportPackFactory,
    reports_storage_at,
    user_with_perms,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def storage(monkeypatch, tmp_path):
    return reports_storage_at(monkeypatch, tmp_path)


def test_the_archive_refuses_a_user_without_permission(client):
    archived = ArchivedReportFactory()
    # May see the reports, not the archive.
    client.force_login(user_with_perms("core.view_dashboards", username="dana"))
    assert client.get(reverse("reports:archive")).status_code == 403
    download = reverse("reports:archive_download", args=[archived.pk])
    assert client.get(download).status_code == 403


def test_the_archive_lists_and_serves_a_permitted_user(client, finance_viewer):
    archived = ArchivedReportFactory(title="Budget vs actual — March 2026")
    client.force_login(finance_viewer)

    page = client.get(reverse("reports:archive"))
    assert page.status_code == 200
    assert "Budget vs actual — March 2026" in page.content.decode()

    response = client.get(reverse("reports:archive_download", args=[archived.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"Report,Value\r\nRevenue,100.00\r\n"
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        'attachment; filename="budget-vs-actual-march-2026-2026-03-01-2026-03-31.csv"'
    )


def test_a_missing_archived_file_is_404(client, finance_viewer):
    client.force_login(finance_viewer)
    assert client.get(reverse("reports:archive_download", args=[999])).status_code == 404


def test_the_archive_filters_by_trigger(client, finance_viewer):
    ArchivedReportFactory(title="On demand one", trigger="manual")
    ArchivedReportFactory(title="Scheduled one", trigger="schedule")
    client.force_login(finance_viewer)
    body = client.get(reverse("reports:archive"), {"trigger": "schedule"}).content.decode()
    assert "Scheduled one" in body
    assert "On demand one" not in body
    bad = client.get(reverse("reports:archive"), {"trigger": "nightly"})
    assert bad.status_code == 400
    assert "trigger" in bad.content.decode()


def test_archive_store_records_size_and_checksum_and_keeps_the_bytes(finance_viewer):
    archived = archive_store(
        content=b"abc",
        fmt="csv",
        title="Sales performance — March 2026",
        period=MARCH_2026,
        parameters={"values": {}},
        user=finance_viewer,
        report="sales_performance",
    )
    assert archived.size == 3
    # sha256("abc"), the FIPS 180-2 test vector.
    assert archived.checksum == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert archived.file.name.startswith(f"{timezone.now():%Y/%m}/sales-performance-march-2026-")
    with archived.file.open("rb") as handle:
        assert handle.read() == b"abc"


def test_archive_prune_deletes_old_files_and_rows_and_keeps_recent_ones(settings, storage):
    settings.FINHUB_REPORT_RETENTION_DAYS = 400
    now = timezone.now()
    old = ArchivedReportFactory(generated_at=now - datetime.timedelta(days=401))
    kept = ArchivedReportFactory(generated_at=now - datetime.timedelta(days=399))
    old_delivery = ReportDelivery.objects.create(
        method="attachment",
        trigger="schedule",
        status="sent",
        sent_at=now - datetime.timedelta(days=401),
    )
    old_delivery.files.add(old)
    assert storage.exists(old.file.name)

    assert archive_prune(now=now) == 1

    assert list(ArchivedReport.objects.all()) == [kept]
    assert not storage.exists(old.file.name)
    assert storage.exists(kept.file.name)
    assert not ReportDelivery.objects.exists()
    assert archive_prune(now=now) == 0


def test_the_archive_list_reads_a_bounded_number_of_queries(
    client, finance_viewer, django_assert_max_num_queries
):
    client.force_login(finance_viewer)
    url = reverse("reports:archive")
    ArchivedReportFactory.create_batch(3)
    with django_assert_max_num_queries(12) as few:
        assert client.get(url).status_code == 200
    pack = ReportPackFactory()
    schedule = PackScheduleFactory(pack=pack)
    ArchivedReportFactory.create_batch(40, pack=pack, schedule=schedule, trigger="schedule")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


def test_the_admin_shows_archived_files_read_only_with_a_download_link(client, superuser):
    archived = ArchivedReportFactory()
    client.force_login(superuser)
    changelist = client.get(reverse("admin:reports_archivedreport_changelist"))
    assert changelist.status_code == 200
    assert reverse("reports:archive_download", args=[archived.pk]) in changelist.content.decode()
    change = client.get(reverse("admin:reports_archivedreport_change", args=[archived.pk]))
    assert change.status_code == 200
    assert archived.checksum in change.content.decode()
    assert client.get(reverse("admin:reports_archivedreport_add")).status_code == 403


def test_the_admin_lists_deliveries_and_packs(client, superuser):
    delivery = ReportDelivery.objects.create(
        method="attachment", trigger="close", status="failed", error="Not sent: no address"
    )
    delivery.files.add(ArchivedReportFactory())
    client.force_login(superuser)
    assert client.get(reverse("admin:reports_reportdelivery_changelist")).status_code == 200
    page = client.get(reverse("admin:reports_reportdelivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    assert "Not sent: no address" in page.content.decode()
    pack = ReportPackFactory(reports=("roadmap_status",))
    assert client.get(reverse("admin:reports_reportpack_change", args=[pack.pk])).status_code == 200
