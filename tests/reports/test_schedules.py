"""Pack schedules and their beat tasks; the archive's retention schedule; the tasks."""

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from finhub.core.calendar import CUSTOM, MONTH, QUARTER, Period
from reports import tasks
from reports.delivery import schedule_period
from reports.models import PackSchedule
from reports.schedules import SCHEDULES
from reports.services import pack_schedule_delete, pack_schedule_save
from tests.reports.factories import GroupFactory, PackScheduleFactory, ReportPackFactory

pytestmark = pytest.mark.django_db


def test_saving_a_schedule_creates_then_updates_its_beat_task():
    schedule = PackScheduleFactory(name="Board monthly", minute="30", hour="6", day_of_month="3")

    pack_schedule_save(schedule=schedule)

    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert task.task == "reports.tasks.pack_schedule_run"
    assert json.loads(task.kwargs) == {"schedule_id": schedule.pk}
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_month) == ("30", "6", "3")
    assert (task.crontab.month_of_year, task.crontab.day_of_week) == ("*", "*")
    assert task.enabled
    assert task.expire_seconds == 3600
    assert task.name == f"reports: Board monthly (pack schedule {schedule.pk})"

    schedule.hour, schedule.enabled, schedule.name = "8", False, "Board monthly (paused)"
    pack_schedule_save(schedule=schedule)

    assert PeriodicTask.objects.filter(task="reports.tasks.pack_schedule_run").count() == 1
    task.refresh_from_db()
    assert task.crontab.hour == "8"
    assert not task.enabled
    assert task.name == f"reports: Board monthly (paused) (pack schedule {schedule.pk})"


def test_deleting_a_schedule_removes_its_beat_task():
    schedule = pack_schedule_save(schedule=PackScheduleFactory())
    task_id = schedule.periodic_task_id

    pack_schedule_delete(schedule=schedule)

    assert not PackSchedule.objects.exists()
    assert not PeriodicTask.objects.filter(pk=task_id).exists()


def test_a_bad_crontab_field_is_refused_and_creates_no_task():
    schedule = PackScheduleFactory.build(pack=ReportPackFactory(), hour="25")
    with pytest.raises(ValidationError, match="hour"):
        pack_schedule_save(schedule=schedule)
    assert not PeriodicTask.objects.filter(task="reports.tasks.pack_schedule_run").exists()


def test_the_admin_saves_a_schedule_with_its_beat_task(client, superuser):
    pack = ReportPackFactory(reports=("roadmap_status",))
    group = GroupFactory(name="Board")
    client.force_login(superuser)
    response = client.post(
        reverse("admin:reports_packschedule_add"),
        {
            "name": "Board pack",
            "pack": pack.pk,
            "enabled": "on",
            "period": "previous_month",
            "formats": "pdf+xlsx",
            "method": "link",
            "link_hours": "48",
            "recipient_groups": [group.pk],
            "minute": "0",
            "hour": "7",
            "day_of_month": "2",
            "day_of_week": "*",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    schedule = PackSchedule.objects.get(name="Board pack")
    assert list(schedule.recipient_groups.all()) == [group]
    assert schedule.periodic_task.crontab.hour == "7"

    delete = reverse("admin:reports_packschedule_delete", args=[schedule.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not PeriodicTask.objects.filter(task="reports.tasks.pack_schedule_run").exists()


def test_the_admin_refuses_a_schedule_without_recipients(client, superuser):
    pack = ReportPackFactory(reports=("roadmap_status",))
    client.force_login(superuser)
    response = client.post(
        reverse("admin:reports_packschedule_add"),
        {
            "name": "Nobody",
            "pack": pack.pk,
            "period": "previous_month",
            "formats": "pdf",
            "method": "attachment",
            "link_hours": "72",
            "minute": "0",
            "hour": "7",
            "day_of_month": "2",
            "day_of_week": "*",
        },
    )
    assert response.status_code == 200
    assert "at least one recipient" in response.content.decode()
    assert not PackSchedule.objects.exists()


def test_the_archive_prune_runs_daily():
    (spec,) = SCHEDULES
    assert spec.task == "reports.tasks.archive_prune"
    assert spec.crontab == {"minute": "15", "hour": "3"}
    # post_migrate synced it (finhub.core.services.schedules_sync).
    task = PeriodicTask.objects.get(name=spec.name)
    assert task.task == "reports.tasks.archive_prune"
    assert (task.crontab.minute, task.crontab.hour) == ("15", "3")


def test_the_tasks_are_thin_and_acked_late(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "reports.services.pack_schedule_run", lambda **kw: calls.append(kw) or "sent"
    )
    monkeypatch.setattr("reports.services.archive_prune", lambda **kw: 7)
    assert tasks.pack_schedule_run(41) == "sent"
    assert calls == [{"schedule_id": 41}]
    assert tasks.archive_prune() == 7
    assert tasks.pack_schedule_run.acks_late and tasks.archive_prune.acks_late


@pytest.mark.parametrize(
    ("kind", "today", "expected"),
    [
        (
            "previous_month",
            datetime.date(2026, 4, 2),
            Period(MONTH, datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)),
        ),
        (
            "previous_month",
            datetime.date(2026, 1, 2),
            Period(MONTH, datetime.date(2025, 12, 1), datetime.date(2025, 12, 31)),
        ),
        (
            "month_to_date",
            datetime.date(2026, 3, 14),
            Period(CUSTOM, datetime.date(2026, 3, 1), datetime.date(2026, 3, 14)),
        ),
        (
            "previous_quarter",
            datetime.date(2026, 4, 2),
            Period(QUARTER, datetime.date(2026, 1, 1), datetime.date(2026, 3, 31)),
        ),
        (
            "previous_quarter",
            datetime.date(2026, 2, 15),
            Period(QUARTER, datetime.date(2025, 10, 1), datetime.date(2025, 12, 31)),
        ),
    ],
)
def test_schedule_period(kind, today, expected):
    assert schedule_period(kind, today) == expected
