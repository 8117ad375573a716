"""A real worker and beat on whatever stack is configured (embedded by default)."""

import pytest

from tests.core import worker_scenarios

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_task_goes_through_the_broker_to_a_worker_process(tmp_path):
    row = worker_scenarios.task_reaches_worker_and_writes(tmp_path)
    assert row.hostname


def test_beat_fires_a_database_scheduled_periodic_task(tmp_path):
    row = worker_scenarios.periodic_task_fires(tmp_path)
    assert row.beats >= 2
