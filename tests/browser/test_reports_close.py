"""The month-end close and the reports in a real browser, as a finance viewer: ticking a
ready manual task on a close's timeline (its automated dependant is then queued), and
downloading a report as PDF from its page (the file carries the figure the page shows, and
the archive lists it). Screenshots under test-artifacts/screenshots/close-*.png and
reports-*.png."""

import datetime as dt
import io

import pytest

# serialized_rollback: the seeded currencies and role groups survive the flush between tests.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SEPT = dt.date(2026, 9, 1)


@pytest.fixture
def fiona(db):
    from finhub.core import roles
    from tests.factories import user_with_role

    return user_with_role(
        roles.FINANCE_VIEWER, username="fiona", first_name="Fiona", last_name="Finch"
    )


@pytest.fixture
def close_queue(monkeypatch):
    """Close task ids sent to Celery, in order: the broker is stubbed out (as in
    tests/closing) so that no automated task runs. The live server shares this process."""
    from closing import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.close_task_run, "delay", lambda task_id: queued.append(task_id))
    return queued


@pytest.fixture
def close(close_queue):
    """The close of September 2026: "Review accruals" (manual, ready) -> "Lock the period"
    (automated, waiting for the review)."""
    from closing import services
    from tests.closing.factories import CloseTemplateFactory, CloseTemplateTaskFactory

    template = CloseTemplateFactory(name="Browser close")
    review = CloseTemplateTaskFactory(template=template, key="review", name="Review accruals")
    CloseTemplateTaskFactory(
        template=template,
        key="lock",
        name="Lock the period",
        kind="automated",
        action="lock_period",
        depends_on=[review],
    )
    return services.close_create(month=SEPT, template=template, user=None)


def test_a_finance_viewer_ticks_a_ready_task_on_the_close_timeline(
    page, live_server, login, screenshot, fiona, close, close_queue
):
    from closing.models import CloseTask

    assert close_queue == []  # nothing automated can start before the review
    login("fiona")
    page.goto(f"{live_server.url}/close/{close.pk}/")
    page.get_by_role("heading", name="Close of September 2026").wait_for()
    review = page.locator('#tasks tr[data-task="review"]')
    lock = page.locator('#tasks tr[data-task="lock"]')
    assert review.get_attribute("data-status") == "ready"
    assert "Ready" in review.inner_text()
    assert "Waiting" in lock.inner_text()
    assert lock.get_by_role("button").count() == 0
    assert page.locator("#tasks-done").inner_text() == "0 of 2"
    screenshot("close-ready")

    review.get_by_role("button", name="Mark done").click()
    page.wait_for_url(f"{live_server.url}/close/{close.pk}/")
    assert "“Review accruals” done." in page.locator(".messages").inner_text()
    assert review.get_attribute("data-status") == "done"
    assert "Done" in review.inner_text()
    assert review.locator(".ticked-by").inner_text() == "ticked by Fiona Finch"
    assert review.get_by_role("button", name="Mark done").count() == 0
    assert lock.get_attribute("data-status") == "queued"
    assert "Queued" in lock.inner_text()
    assert page.locator("#tasks-done").inner_text() == "1 of 2"
    screenshot("close-ticked")

    done = CloseTask.objects.get(close=close, key="review")
    assert done.status == "done" and done.done_by == fiona and done.finished_at is not None
    queued = CloseTask.objects.get(close=close, key="lock")
    assert queued.status == "queued" and close_queue == [queued.pk]


@pytest.fixture
def company(settings, monkeypatch, tmp_path, fiona):
    """The dashboards' small company (one campaign, Spring, in March 2026); report files are
    archived under tmp_path."""
    from tests.dashboards.conftest import make_company
    from tests.reports.factories import reports_storage_at

    settings.FINHUB_REPORTING_CURRENCY = "USD"
    reports_storage_at(monkeypatch, tmp_path / "reports")
    return make_company()


def test_a_finance_viewer_downloads_a_report_as_pdf(
    page, live_server, login, screenshot, fiona, company, tmp_path
):
    from pypdf import PdfReader

    from reports.models import ArchivedReport

    login("fiona")
    page.goto(f"{live_server.url}/reports/campaign_roi/?period=month&month=2026-03")
    page.get_by_role("heading", name="Campaign ROI", exact=True).wait_for()
    assert "March 2026" in page.locator("#period-label").inner_text()
    spring = page.locator('#table-campaigns tbody tr:has-text("Spring")')
    assert spring.count() == 1
    headers = page.locator("#table-campaigns thead th").all_inner_texts()
    cells = spring.locator("td").all_inner_texts()
    # Spring's spend: two spends of 300.00 on 5 Mar 2026 (make_company).
    spend = cells[headers.index("Spend")]
    assert spend == "USD 600.00"
    screenshot("reports-campaign-roi")

    with page.expect_download() as download_info:
        page.locator("#download-form").get_by_role("button", name="PDF").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    content = path.read_bytes()
    assert content.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert "Campaign ROI" in text
    assert "Spring" in text and spend in text

    archived = ArchivedReport.objects.get()
    assert (archived.report, archived.format, archived.generated_by) == (
        "campaign_roi",
        "pdf",
        fiona,
    )
    assert archived.period_start == dt.date(2026, 3, 1)
    page.goto(f"{live_server.url}/reports/archive/")
    row = page.locator(f'[data-table="archive"] tr[data-archived="{archived.pk}"]')
    assert archived.title in row.inner_text()
    assert "PDF" in row.inner_text() and "Fiona Finch" in row.inner_text()
    screenshot("reports-archive")
