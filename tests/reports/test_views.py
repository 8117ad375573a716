"""The reports pages: login and permissions, parameters (400 naming the parameter),
downloads archived, packs generated from the page, schedules listed."""

import pytest
from django.urls import reverse

from reports.models import ArchivedReport
from tests.reports.factories import (
    QUICK_REPORTS,
    PackScheduleFactory,
    ReportPackFactory,
    reports_storage_at,
    user_with_perms,
)

pytestmark = pytest.mark.django_db
MARCH = {"period": "month", "month": "2026-03"}


@pytest.fixture(autouse=True)
def _storage(monkeypatch, tmp_path):
    reports_storage_at(monkeypatch, tmp_path)


@pytest.fixture
def viewer(db):
    """May see the reports, not generate files nor read the archive."""
    return user_with_perms("core.view_dashboards", username="val")


@pytest.mark.parametrize(
    "url",
    [
        reverse("reports:index"),
        reverse("reports:report", args=["roadmap_status"]),
        reverse("reports:pack", args=["month-end-pack"]),
        reverse("reports:archive"),
        reverse("reports:schedules"),
    ],
)
def test_pages_need_a_login_and_a_permission(client, no_role_user, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    client.force_login(no_role_user)
    assert client.get(url).status_code == 403


def test_the_index_lists_reports_packs_and_the_latest_files(client, finance_viewer):
    client.force_login(finance_viewer)
    body = client.get(reverse("reports:index")).content.decode()
    assert "Budget vs actual" in body
    assert "Post-close adjustments" in body
    assert reverse("reports:pack", args=["month-end-pack"]) in body
    assert "Latest archived files" in body


def test_the_index_hides_the_archive_from_a_viewer(client, viewer):
    client.force_login(viewer)
    body = client.get(reverse("reports:index")).content.decode()
    assert "Latest archived files" not in body


def test_the_report_page_shows_its_tables_and_downloads(client, finance_viewer):
    client.force_login(finance_viewer)
    response = client.get(reverse("reports:report", args=["roadmap_status"]), MARCH)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Roadmap status" in body
    assert "March 2026" in body
    assert 'id="download-form"' in body
    assert 'name="month" value="2026-03"' in body


def test_a_bad_parameter_answers_400_naming_it(client, finance_viewer):
    client.force_login(finance_viewer)
    url = reverse("reports:report", args=["pnl_department"])
    response = client.get(url, {**MARCH, "department": "abc"})
    assert response.status_code == 400
    assert "department" in response.content.decode()
    bad_period = client.get(url, {"period": "month", "month": "2026-13"})
    assert bad_period.status_code == 400
    assert "month" in bad_period.content.decode()
    # A parameter the report does not take.
    other = client.get(reverse("reports:report", args=["product_roi"]), {"team": "1"})
    assert other.status_code == 400
    assert "team" in other.content.decode()


def test_an_unknown_report_is_404(client, finance_viewer):
    client.force_login(finance_viewer)
    assert client.get(reverse("reports:report", args=["no_such_report"])).status_code == 404


def test_a_download_is_generated_archived_and_sent(client, finance_viewer):
    client.force_login(finance_viewer)
    url = reverse("reports:download", args=["roadmap_status"])

    response = client.post(url, {**MARCH, "format": "xlsx"})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="roadmap-status-')
    (archived,) = ArchivedReport.objects.all()
    assert archived.format == "xlsx"
    assert archived.generated_by == finance_viewer
    assert archived.report == "roadmap_status"
    assert b"".join(response.streaming_content)[:2] == b"PK"  # an XLSX is a zip


def test_a_download_needs_the_generate_permission(client, viewer):
    client.force_login(viewer)
    response = client.post(
        reverse("reports:download", args=["roadmap_status"]), {**MARCH, "format": "csv"}
    )
    assert response.status_code == 403
    assert not ArchivedReport.objects.exists()


def test_a_download_in_a_bad_format_or_with_bad_parameters_is_400(client, finance_viewer):
    client.force_login(finance_viewer)
    url = reverse("reports:download", args=["pnl_department"])
    bad_format = client.post(url, {**MARCH, "format": "docx"})
    assert bad_format.status_code == 400
    assert "format" in bad_format.content.decode()
    bad_param = client.post(url, {**MARCH, "format": "csv", "department": "999999"})
    assert bad_param.status_code == 400
    assert "department" in bad_param.content.decode()
    assert not ArchivedReport.objects.exists()


def test_a_download_is_a_post(client, finance_viewer):
    client.force_login(finance_viewer)
    url = reverse("reports:download", args=["roadmap_status"])
    assert client.get(url, {**MARCH, "format": "csv"}).status_code == 405


def test_the_pack_page_generates_the_pack_for_a_period(client, finance_viewer):
    pack = ReportPackFactory(name="Quick pack", slug="quick", reports=QUICK_REPORTS)
    client.force_login(finance_viewer)
    url = reverse("reports:pack", args=["quick"])
    page = client.get(url, MARCH)
    assert page.status_code == 200
    assert "Roadmap status" in page.content.decode()

    response = client.post(url, MARCH)

    assert response.status_code == 302
    assert response["Location"] == f"{url}?period=month&month=2026-03"
    files = ArchivedReport.objects.filter(pack=pack)
    assert sorted(files.values_list("format", flat=True)) == ["pdf", "xlsx"]
    listed = client.get(response["Location"]).content.decode()
    assert "Quick pack — March 2026" in listed
    assert "generated and archived" in listed


def test_generating_a_pack_needs_the_generate_permission(client, viewer):
    ReportPackFactory(slug="quick", reports=QUICK_REPORTS)
    client.force_login(viewer)
    url = reverse("reports:pack", args=["quick"])
    assert client.get(url).status_code == 200
    assert client.post(url, MARCH).status_code == 403
    assert not ArchivedReport.objects.exists()


def test_a_pack_with_a_bad_period_is_400_and_generates_nothing(client, finance_viewer):
    ReportPackFactory(slug="quick", reports=QUICK_REPORTS)
    client.force_login(finance_viewer)
    response = client.post(
        reverse("reports:pack", args=["quick"]), {"period": "quarter", "quarter": "2026-Q5"}
    )
    assert response.status_code == 400
    assert "quarter" in response.content.decode()
    assert not ArchivedReport.objects.exists()


def test_the_schedules_page_lists_schedules(client, finance_viewer, django_assert_max_num_queries):
    PackScheduleFactory.create_batch(3)
    client.force_login(finance_viewer)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("reports:schedules"))
    assert response.status_code == 200
    assert "Schedule" in response.content.decode()


@pytest.mark.parametrize(
    ("key", "fields"),
    [
        ("campaign_roi", ('name="channel"', 'name="campaign"', 'name="model"')),
        ("budget_vs_actual", ('name="department"', 'name="budget"')),
    ],
)
def test_the_report_page_offers_the_reports_own_parameters(client, finance_viewer, key, fields):
    client.force_login(finance_viewer)
    response = client.get(reverse("reports:report", args=[key]), MARCH)
    assert response.status_code == 200
    body = response.content.decode()
    for field in fields:
        assert field in body
    assert 'name="team"' not in body
