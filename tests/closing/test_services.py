"""The close engine on small templates: copying a template, starting what can start, claims,
ticks, failures stopping their dependants, retries; opening the default close."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from closing import actions, services
from closing.actions import ActionOutcome, CloseTaskFailed
from closing.models import Close, CloseTask, CloseTemplate
from records.locks import period_is_locked
from tests.closing.factories import CloseTemplateFactory, CloseTemplateTaskFactory

pytestmark = pytest.mark.django_db

SEPT = dt.date(2026, 9, 1)


@pytest.fixture
def template():
    """review (manual) and lock (automated, after the review); check (automated, alone)."""
    template = CloseTemplateFactory(name="Small close")
    review = CloseTemplateTaskFactory(template=template, key="review", order=1, due_working_day=2)
    CloseTemplateTaskFactory(
        template=template, key="check", kind="automated", action="check_freshness", order=2
    )
    CloseTemplateTaskFactory(
        template=template,
        key="lock",
        kind="automated",
        action="lock_period",
        order=3,
        due_working_day=3,
        depends_on=[review],
    )
    return template


def statuses(close):
    return dict(close.tasks.values_list("key", "status"))


def run_queued(queue, capture):
    """Run the queued close tasks like a worker would, in order, until none is left."""
    ran = []
    while queue:
        task_id = queue.pop(0)
        with capture(execute=True):
            task = services.close_task_run(task_id=task_id)
        ran.append(task.key)
    return ran


def test_close_create_copies_the_template_with_due_dates_and_starts_what_can_start(
    template, finance_viewer, close_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        close = services.close_create(
            month=dt.date(2026, 9, 17), template=template, user=finance_viewer
        )
    assert close.month == SEPT and close.created_by == finance_viewer
    tasks = {t.key: t for t in close.tasks.all()}
    # September 2026 ends on Wednesday 30th: WD1 Thu 1 Oct, WD2 Fri 2 Oct, WD3 Mon 5 Oct.
    assert {k: t.due_date for k, t in tasks.items()} == {
        "review": dt.date(2026, 10, 2),
        "check": dt.date(2026, 10, 1),
        "lock": dt.date(2026, 10, 5),
    }
    assert list(tasks["lock"].depends_on.values_list("key", flat=True)) == ["review"]
    assert statuses(close) == {"review": "ready", "check": "queued", "lock": "waiting"}
    assert close_queue == [tasks["check"].pk]  # sent after the commit
    assert close.status == "open"


def test_close_create_refuses_a_month_not_over_and_a_second_close(template, finance_viewer):
    this_month = timezone.localdate().replace(day=1)
    with pytest.raises(ValidationError) as exc:
        services.close_create(month=this_month, template=template, user=finance_viewer)
    assert "has not ended yet" in exc.value.message_dict["month"][0]
    services.close_create(month=SEPT, template=template, user=finance_viewer)
    with pytest.raises(ValidationError) as exc:
        services.close_create(month=SEPT, template=template, user=finance_viewer)
    assert exc.value.message_dict["month"] == ["September 2026 has a close already."]
    assert Close.objects.count() == 1


def test_close_create_refuses_a_template_whose_tasks_loop(finance_viewer):
    template = CloseTemplateFactory(name="Loop")
    first = CloseTemplateTaskFactory(template=template, key="a")
    second = CloseTemplateTaskFactory(template=template, key="b", depends_on=[first])
    first.depends_on.add(second)
    with pytest.raises(ValidationError, match="loop"):
        services.close_create(month=SEPT, template=template, user=finance_viewer)
    assert not Close.objects.exists()


def test_a_manual_tick_records_who_and_when_and_starts_the_dependants(
    template, finance_viewer, close_queue, django_capture_on_commit_callbacks
):
    close = services.close_create(month=SEPT, template=template, user=None)
    review = close.tasks.get(key="review")
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.close_task_complete(task=review, user=finance_viewer)
    review.refresh_from_db()
    assert review.status == "done" and review.done_by == finance_viewer
    assert before <= review.finished_at <= timezone.now()
    lock = close.tasks.get(key="lock")
    assert lock.status == "queued" and close_queue == [lock.pk]
    with pytest.raises(ValidationError, match="only a ready task"):
        services.close_task_complete(task=review, user=finance_viewer)  # ticked already


def test_an_automated_task_cannot_be_ticked(template, finance_viewer):
    close = services.close_create(month=SEPT, template=template, user=None)
    with pytest.raises(ValidationError, match="automated"):
        services.close_task_complete(task=close.tasks.get(key="check"), user=finance_viewer)


def test_a_task_runs_once_even_when_its_message_arrives_twice(
    template, close_queue, django_capture_on_commit_callbacks, monkeypatch
):
    calls = []
    monkeypatch.setitem(
        actions.ACTIONS,
        "check_freshness",
        lambda task: calls.append(task.pk) or ActionOutcome("fine", {"n": 1}),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.close_create(month=SEPT, template=template, user=None)
    [task_id] = close_queue
    first = services.close_task_run(task_id=task_id)
    assert first.status == "done" and first.detail == "fine" and first.result == {"n": 1}
    assert first.attempts == 1 and first.started_at <= first.finished_at
    assert services.close_task_run(task_id=task_id) is None  # claimed already: nothing
    assert calls == [task_id]


def test_a_failure_stops_the_dependants_until_it_is_retried(
    template, finance_viewer, close_queue, django_capture_on_commit_callbacks, monkeypatch
):
    outcomes = [CloseTaskFailed("the lock is jammed", {"why": "test"})]

    def lock(task):
        if outcomes:
            raise outcomes.pop()
        return actions.lock_period(task)

    monkeypatch.setitem(actions.ACTIONS, "lock_period", lock)
    monkeypatch.setitem(actions.ACTIONS, "check_freshness", lambda t: ActionOutcome("ok"))
    # A fourth task after the lock: it must stay waiting while the lock has failed.
    CloseTemplateTaskFactory(
        template=template, key="after", order=4, depends_on=[template.tasks.get(key="lock")]
    )
    with django_capture_on_commit_callbacks(execute=True):
        close = services.close_create(month=SEPT, template=template, user=None)
        services.close_task_complete(task=close.tasks.get(key="review"), user=finance_viewer)
    assert run_queued(close_queue, django_capture_on_commit_callbacks) == ["check", "lock"]
    close.refresh_from_db()
    assert statuses(close) == {
        "review": "done",
        "check": "done",
        "lock": "failed",
        "after": "waiting",
    }
    assert close.status == "blocked"
    failed = close.tasks.get(key="lock")
    assert failed.detail == "the lock is jammed" and failed.result == {"why": "test"}
    assert not period_is_locked(month=SEPT)

    with django_capture_on_commit_callbacks(execute=True):
        services.close_task_retry(task=failed, user=finance_viewer)
    close.refresh_from_db()
    assert close.status == "open" and close_queue == [failed.pk]
    assert run_queued(close_queue, django_capture_on_commit_callbacks) == ["lock"]
    close.refresh_from_db()
    assert statuses(close)["lock"] == "done" and statuses(close)["after"] == "ready"
    assert period_is_locked(month=SEPT) and close.locked_at is not None
    with pytest.raises(ValidationError, match="only a failed task"):
        services.close_task_retry(task=failed, user=finance_viewer)


def test_an_unexpected_error_fails_the_task_with_its_message(
    template, close_queue, django_capture_on_commit_callbacks, monkeypatch
):
    def boom(task):
        raise RuntimeError("disk full")

    monkeypatch.setitem(actions.ACTIONS, "check_freshness", boom)
    with django_capture_on_commit_callbacks(execute=True):
        services.close_create(month=SEPT, template=template, user=None)
    task = services.close_task_run(task_id=close_queue.pop())
    assert task.status == "failed" and task.detail == "RuntimeError: disk full"


def test_a_running_task_whose_worker_was_lost_can_be_retried_after_two_hours(template):
    close = services.close_create(month=SEPT, template=template, user=None)
    task = close.tasks.get(key="check")
    CloseTask.objects.filter(pk=task.pk).update(
        status="running", started_at=timezone.now() - dt.timedelta(minutes=30)
    )
    with pytest.raises(ValidationError):
        services.close_task_retry(task=task, user=None)
    CloseTask.objects.filter(pk=task.pk).update(started_at=timezone.now() - dt.timedelta(hours=3))
    assert services.close_task_retry(task=task, user=None).status == "queued"


def test_a_close_of_only_done_tasks_is_done(finance_viewer, django_capture_on_commit_callbacks):
    template = CloseTemplateFactory(name="One step")
    CloseTemplateTaskFactory(template=template, key="only")
    close = services.close_create(month=SEPT, template=template, user=None)
    services.close_task_complete(task=close.tasks.get(), user=finance_viewer)
    close.refresh_from_db()
    assert close.status == "done" and close.finished_at is not None


def test_the_default_template_from_the_migration():
    template = CloseTemplate.objects.get(is_default=True)
    assert template.name == "Month-end close"
    assert template.pack is not None and template.pack.name == "Month-end pack"
    assert list(template.recipient_groups.values_list("name", flat=True)) == ["Finance viewer"]
    tasks = {t.key: t for t in template.tasks.all()}
    assert [t.key for t in template.tasks.order_by("order")] == [
        "sync",
        "freshness",
        "reconcile",
        "review",
        "recompute",
        "deliver",
        "lock",
    ]
    depends = {k: sorted(t.depends_on.values_list("key", flat=True)) for k, t in tasks.items()}
    assert depends == {
        "sync": [],
        "freshness": ["sync"],
        "reconcile": ["freshness"],
        "review": [],
        "recompute": ["reconcile", "review"],
        "deliver": ["recompute"],
        "lock": ["deliver"],
    }
    assert tasks["review"].kind == "manual" and tasks["review"].owner_group.name == "Finance viewer"
    assert {k: t.due_working_day for k, t in tasks.items()} == {
        "sync": 1,
        "freshness": 1,
        "reconcile": 1,
        "review": 2,
        "recompute": 2,
        "deliver": 3,
        "lock": 3,
    }


def test_close_open_command_is_idempotent_and_defaults_to_last_month(close_queue):
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    call_command("close_open")
    close = Close.objects.get()
    assert close.month == last_month and close.template.is_default
    call_command("close_open")
    assert Close.objects.count() == 1
    call_command("close_open", "--month", "2026-03")
    assert Close.objects.filter(month=dt.date(2026, 3, 1)).exists()


def test_close_open_command_names_a_bad_month():
    with pytest.raises(Exception, match="--month: not a month"):
        call_command("close_open", "--month", "March")


def test_the_daily_task_opens_last_months_close_from_working_day_1(monkeypatch, close_queue):
    from closing import tasks

    monkeypatch.setattr(tasks.timezone, "localdate", lambda: dt.date(2026, 8, 2))  # Sunday
    assert tasks.close_open_due() == "not yet"
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: dt.date(2026, 8, 3))
    monkeypatch.setattr(services.timezone, "localdate", lambda: dt.date(2026, 8, 3))
    assert tasks.close_open_due() == "Close July 2026 opened"
    assert tasks.close_open_due() == "Close July 2026 already open"


def test_the_schedule_is_created_by_migrate():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="closing: open last month's close")
    assert task.task == "closing.tasks.close_open_due" and task.crontab.hour == "6"
