"""A connector's schedule edited in the admin changes the beat PeriodicTask, and so when the
next sync fires (measured with django-celery-beat's own scheduler entry)."""

import json

import pytest
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from connectors import schedules_service
from connectors.credentials import credentials_set
from finhub.celery import app
from tests.connectors.admin_helpers import connector_form_data
from tests.factories import PullConnectorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connector():
    connector = PullConnectorFactory(name="ERP", slug="erp")
    credentials_set(connector, {"token": "t"})
    return connector


def post_schedule(client, connector, **schedule):
    response = client.post(
        f"/admin/connectors/connector/{connector.pk}/change/",
        connector_form_data(connector, **schedule),
    )
    connector.refresh_from_db()
    return response


def next_run_in(task_name: str) -> tuple[bool, float]:
    """(due now, seconds until beat checks again) as beat's DatabaseScheduler computes it."""
    entry = ModelEntry(PeriodicTask.objects.get(name=task_name), app=app)
    state = entry.is_due()
    return state.is_due, state.next


def test_editing_the_interval_in_the_admin_changes_when_beat_runs_it_next(
    client, integration_admin, connector
):
    client.force_login(integration_admin)
    response = post_schedule(
        client, connector, schedule_kind="interval", schedule_every_minutes="60"
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    task = connector.periodic_task
    assert task.name == "connector sync: erp"
    assert task.task == "connectors.tasks.sync_schedule_fire"
    assert json.loads(task.kwargs) == {"connector_id": connector.pk}
    assert (task.interval.every, task.interval.period) == (60, "minutes")
    due, next_in = next_run_in(task.name)
    assert not due and 59 * 60 < next_in <= 60 * 60

    response = post_schedule(
        client, connector, schedule_kind="interval", schedule_every_minutes="1"
    )
    assert response.status_code == 302
    assert connector.periodic_task_id == task.pk  # the same task, edited
    due, next_in = next_run_in(task.name)
    assert due or next_in <= 60


def test_crontab_schedule_and_its_validation(client, integration_admin, connector):
    client.force_login(integration_admin)
    response = post_schedule(
        client, connector, schedule_kind="crontab", schedule_crontab="61 * * * *"
    )
    assert response.status_code == 200
    assert "Invalid minute (0-59) &#x27;61&#x27;" in response.content.decode()
    response = post_schedule(client, connector, schedule_kind="crontab", schedule_crontab="0 6 *")
    assert "Enter five fields" in response.content.decode()
    assert connector.periodic_task is None

    response = post_schedule(
        client, connector, schedule_kind="crontab", schedule_crontab="*/5 * * * *"
    )
    assert response.status_code == 302
    task = connector.periodic_task
    assert task.interval is None
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_week) == ("*/5", "*", "*")
    assert str(cron.timezone) == "UTC"
    due, next_in = next_run_in(task.name)
    assert due or next_in <= 5 * 60
    # The form shows it back.
    page = client.get(f"/admin/connectors/connector/{connector.pk}/change/").content.decode()
    assert 'value="*/5 * * * *"' in page


def test_interval_needs_minutes(client, integration_admin, connector):
    client.force_login(integration_admin)
    response = post_schedule(client, connector, schedule_kind="interval")
    assert response.status_code == 200
    assert "Enter how many minutes between syncs." in response.content.decode()


def test_no_schedule_removes_the_task_and_deleting_the_connector_too(
    client, integration_admin, connector
):
    client.force_login(integration_admin)
    post_schedule(client, connector, schedule_kind="interval", schedule_every_minutes="15")
    assert PeriodicTask.objects.filter(name="connector sync: erp").exists()
    post_schedule(client, connector, schedule_kind="none")
    assert connector.periodic_task is None
    assert not PeriodicTask.objects.filter(name="connector sync: erp").exists()

    post_schedule(client, connector, schedule_kind="interval", schedule_every_minutes="15")
    response = client.post(f"/admin/connectors/connector/{connector.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not PeriodicTask.objects.filter(name="connector sync: erp").exists()


def test_disabling_the_connector_disables_its_task(client, integration_admin, connector):
    client.force_login(integration_admin)
    post_schedule(client, connector, schedule_kind="interval", schedule_every_minutes="15")
    post_schedule(
        client, connector, schedule_kind="interval", schedule_every_minutes="15", enabled=""
    )
    assert connector.periodic_task.enabled is False


def test_crontab_parse_names_the_field():
    assert schedules_service.crontab_parse("0 6 * * mon-fri") == {
        "minute": "0",
        "hour": "6",
        "day_of_month": "*",
        "month_of_year": "*",
        "day_of_week": "mon-fri",
    }
    for expression, field in [
        ("* 24 * * *", "hour"),
        ("* * 0 * *", "day of month"),
        ("* * * 13 *", "month"),
        ("* * * * funday", "day of week"),
    ]:
        with pytest.raises(Exception, match=f"Invalid {field}"):
            schedules_service.crontab_parse(expression)
