"""The close pages: login and permissions, the list and its open form, the timeline, ticking,
retrying, unlocking (permission + reason, audited) and a bounded number of queries."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from closing import services
from closing.models import Close, CloseTask
from records.locks import period_is_locked, period_lock, period_lock_event_list, period_unlock
from tests.closing.factories import CloseTemplateFactory, CloseTemplateTaskFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SEPT = dt.date(2026, 9, 1)


@pytest.fixture
def close(close_queue):
    """A close of September 2026: review (manual, ready) -> lock (automated, waiting), and a
    freshness check (automated) that failed."""
    template = CloseTemplateFactory(name="Pages")
    review = CloseTemplateTaskFactory(template=template, key="review", name="Review accruals")
    CloseTemplateTaskFactory(
        template=template,
        key="lock",
        name="Lock",
        kind="automated",
        action="lock_period",
        depends_on=[review],
    )
    CloseTemplateTaskFactory(
        template=template, key="check", name="Check", kind="automated", action="check_freshness"
    )
    close = services.close_create(month=SEPT, template=template, user=None)
    CloseTask.objects.filter(close=close, key="check").update(
        status="failed", detail="Source 1: stale", finished_at=timezone.now()
    )
    Close.objects.filter(pk=close.pk).update(status="blocked")  # as the engine would
    close.refresh_from_db()
    return close


def unlocker():
    user = UserFactory(username="controller")
    user.user_permissions.add(
        Permission.objects.get(codename="view_close"),
        Permission.objects.get(codename="unlock_period"),
    )
    return user


def test_anonymous_is_sent_to_login(client, close):
    for url in ["/close/", f"/close/{close.pk}/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for url in [
        "/close/open/",
        f"/close/{close.pk}/unlock/",
        f"/close/{close.pk}/tasks/1/tick/",
        f"/close/{close.pk}/tasks/1/retry/",
    ]:
        response = client.post(url, {})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_without_permission_gets_403(client, close, no_role_user):
    client.force_login(no_role_user)
    assert client.get("/close/").status_code == 403
    assert client.get(f"/close/{close.pk}/").status_code == 403
    review = close.tasks.get(key="review")
    assert client.post(f"/close/{close.pk}/tasks/{review.pk}/tick/").status_code == 403
    assert client.post("/close/open/", {"month": "2026-08"}).status_code == 403
    review.refresh_from_db()
    assert review.status == "ready" and Close.objects.count() == 1


def test_a_viewer_without_change_permission_cannot_tick(client, close):
    viewer = UserFactory(username="reader")
    viewer.user_permissions.add(Permission.objects.get(codename="view_close"))
    client.force_login(viewer)
    page = client.get(f"/close/{close.pk}/").content.decode()
    assert "Mark done" not in page and "open-form" not in client.get("/close/").content.decode()
    review = close.tasks.get(key="review")
    assert client.post(f"/close/{close.pk}/tasks/{review.pk}/tick/").status_code == 403


def test_the_list_shows_each_close_with_its_progress(client, close, finance_viewer):
    client.force_login(finance_viewer)
    response = client.get("/close/")
    assert response.status_code == 200
    row = response.content.decode().split(f'data-close="{close.pk}"')[1].split("</tr>")[0]
    assert "September 2026" in row and "Blocked by a failed task" in row
    assert "0 / 3" in row and "1 failed" in row


def test_opening_a_close_from_the_list(client, close, finance_viewer, close_queue):
    client.force_login(finance_viewer)
    template = close.template
    response = client.post("/close/open/", {"month": "2026-08", "template": template.pk})
    opened = Close.objects.get(month=dt.date(2026, 8, 1))
    assert response.status_code == 302 and response["Location"] == f"/close/{opened.pk}/"
    assert opened.created_by == finance_viewer and opened.tasks.count() == 3


@pytest.mark.parametrize(
    ("month", "error"),
    [
        ("August", "is not a month: write it as YYYY-MM"),
        ("2026-09", "September 2026 has a close already."),
        ("2999-01", "has not ended yet"),
    ],
)
def test_opening_a_close_with_bad_input_is_a_400_naming_the_problem(
    client, close, finance_viewer, month, error
):
    client.force_login(finance_viewer)
    response = client.post("/close/open/", {"month": month, "template": close.template.pk})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert Close.objects.count() == 1


def test_the_timeline_shows_the_chain_planned_vs_actual_and_what_blocks(
    client, close, finance_viewer
):
    client.force_login(finance_viewer)
    response = client.get(f"/close/{close.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    chain = page.split('id="chain"')[1].split("</ol>")[0]
    # Dependency order: the review before the lock that waits for it.
    assert chain.index("Review accruals") < chain.index("Lock")
    review_row = page.split('<tr data-task="review"')[1].split("</tr>")[0]
    assert "Thu 1 Oct 2026" in review_row and "(working day 1)" in review_row
    assert "Mark done" in review_row
    lock_row = page.split('<tr data-task="lock"')[1].split("</tr>")[0]
    assert "Review accruals" in lock_row  # depends on
    check_row = page.split('<tr data-task="check"')[1].split("</tr>")[0]
    assert "Source 1: stale" in check_row and "Retry" in check_row
    # 1 Oct has passed: the unfinished tasks are late.
    assert "Late" in review_row and 'id="tasks-late"><span class="error">3<' in page
    assert 'id="hours-to-pack"><span class="muted">not delivered yet' in page
    assert "Not locked" in page and 'id="no-adjustments"' in page


def test_ticking_a_manual_task_records_who_and_when(client, close, finance_viewer, close_queue):
    client.force_login(finance_viewer)
    review = close.tasks.get(key="review")
    response = client.post(f"/close/{close.pk}/tasks/{review.pk}/tick/")
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == "done" and review.done_by == finance_viewer
    assert review.finished_at is not None
    assert close.tasks.get(key="lock").status == "queued"
    page = client.get(f"/close/{close.pk}/").content.decode()
    assert "ticked by fiona" in page.split('<tr data-task="review"')[1].split("</tr>")[0]
    # A second tick changes nothing and says why.
    response = client.post(f"/close/{close.pk}/tasks/{review.pk}/tick/", follow=True)
    assert "only a ready task can be ticked" in response.content.decode()


def test_retrying_a_failed_task_queues_it(
    client, close, finance_viewer, close_queue, django_capture_on_commit_callbacks
):
    client.force_login(finance_viewer)
    check = close.tasks.get(key="check")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/close/{close.pk}/tasks/{check.pk}/retry/")
    assert response.status_code == 302
    check.refresh_from_db()
    assert check.status == "queued" and close_queue == [check.pk]


def test_a_task_of_another_close_is_404(client, close, finance_viewer):
    client.force_login(finance_viewer)
    other = Close.objects.create(month=dt.date(2026, 1, 1), template=close.template)
    review = close.tasks.get(key="review")
    assert client.post(f"/close/{other.pk}/tasks/{review.pk}/tick/").status_code == 404
    assert client.get("/close/999999/").status_code == 404


def test_unlocking_needs_the_permission(client, close, finance_viewer):
    period_lock(month=SEPT, reason="Month-end close 2026-09")
    client.force_login(finance_viewer)
    page = client.get(f"/close/{close.pk}/").content.decode()
    assert "unlock-form" not in page
    response = client.post(f"/close/{close.pk}/unlock/", {"reason": "Late invoice"})
    assert response.status_code == 403
    assert period_is_locked(month=SEPT)


def test_unlocking_needs_a_reason_and_is_audited(client, close):
    period_lock(month=SEPT, reason="Month-end close 2026-09")
    user = unlocker()
    client.force_login(user)
    assert "unlock-form" in client.get(f"/close/{close.pk}/").content.decode()
    response = client.post(f"/close/{close.pk}/unlock/", {"reason": "   "})
    assert response.status_code == 400
    assert 'id="reason-error"' in response.content.decode()
    assert period_is_locked(month=SEPT)

    response = client.post(f"/close/{close.pk}/unlock/", {"reason": "Late supplier invoice"})
    assert response.status_code == 302
    assert not period_is_locked(month=SEPT)
    unlock, lock = period_lock_event_list(month=SEPT)
    assert (unlock.action, unlock.by, unlock.reason) == ("unlock", user, "Late supplier invoice")
    assert lock.action == "lock"
    page = client.get(f"/close/{close.pk}/").content.decode()
    events = page.split('id="lock-events"')[1].split("</table>")[0]
    assert "Late supplier invoice" in events and "controller" in events
    # Unlocking again: not locked any more, a 400 that says so.
    response = client.post(f"/close/{close.pk}/unlock/", {"reason": "again"})
    assert response.status_code == 400 and "is not locked" in response.content.decode()


def test_a_month_unlocked_after_its_close_is_locked_again_by_whoever_runs_the_close(
    client, close, finance_viewer
):
    period_lock(month=SEPT, reason="Month-end close 2026-09")
    close.locked_at = close.created_at
    close.save(update_fields=["locked_at"])
    client.force_login(finance_viewer)
    assert "relock-form" not in client.get(f"/close/{close.pk}/").content.decode()  # locked
    period_unlock(month=SEPT, user=unlocker(), reason="Late supplier invoice")
    assert "relock-form" in client.get(f"/close/{close.pk}/").content.decode()

    response = client.post(f"/close/{close.pk}/relock/", follow=True)
    assert "September 2026 locked again." in response.content.decode()
    assert period_is_locked(month=SEPT)
    relock = period_lock_event_list(month=SEPT).first()
    assert (relock.action, relock.by) == ("lock", finance_viewer)
    # Locked already: refused with the reason, nothing written.
    response = client.post(f"/close/{close.pk}/relock/", follow=True)
    assert "is already locked" in response.content.decode()
    assert period_lock_event_list(month=SEPT).count() == 3


def test_relocking_needs_the_permission_to_run_the_close(client, close, django_user_model):
    viewer = django_user_model.objects.create_user("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_close"))
    client.force_login(viewer)
    assert client.post(f"/close/{close.pk}/relock/").status_code == 403


def test_the_timeline_costs_a_bounded_number_of_queries(
    client, finance_viewer, django_assert_max_num_queries, close_queue
):
    from records.models import PostCloseAdjustment
    from tests.factories import ConnectorFactory

    template = CloseTemplateFactory(name="Many")
    previous = None
    for n in range(25):
        previous = CloseTemplateTaskFactory(
            template=template, key=f"t{n}", depends_on=[previous] if previous else []
        )
    close = services.close_create(month=SEPT, template=template, user=None)
    period_lock(month=SEPT)
    source = ConnectorFactory(name="ERP")
    PostCloseAdjustment.objects.bulk_create(
        PostCloseAdjustment(
            month=SEPT,
            entity="gl_lines",
            source=source,
            external_id=f"x{n}",
            outcome="updated",
            via="api",
            user=finance_viewer,
        )
        for n in range(30)
    )
    client.force_login(finance_viewer)
    with django_assert_max_num_queries(14):
        response = client.get(f"/close/{close.pk}/")
    assert response.status_code == 200
    assert response.content.decode().count("<tr data-task=") == 25
    with django_assert_max_num_queries(10):
        assert client.get("/close/").status_code == 200
