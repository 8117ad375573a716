"""The same proofs, required to run on PostgreSQL and Redis."""

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.core import worker_scenarios

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_task_goes_through_redis_to_a_worker_and_writes_postgres(tmp_path):
    assert connection.vendor == "postgresql"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.ping()
    row = worker_scenarios.task_reaches_worker_and_writes(tmp_path)
    # The row was written by the worker process into PostgreSQL, not by this process.
    assert row.hostname
    with connection.cursor() as cursor:
        cursor.execute("SELECT beats FROM core_heartbeat WHERE source = %s", [row.source])
        assert cursor.fetchone() == (1,)


def test_beat_fires_through_redis(tmp_path):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    row = worker_scenarios.periodic_task_fires(tmp_path)
    assert row.beats >= 2
