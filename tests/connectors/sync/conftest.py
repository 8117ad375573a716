import pytest


@pytest.fixture(autouse=True)
def fast_sync(settings):
    """Tiny backoff and short timeouts so that retries cost milliseconds in tests."""
    settings.FINHUB_SYNC_MAX_ATTEMPTS = 5
    settings.FINHUB_SYNC_BACKOFF_SECONDS = 0.001
    settings.FINHUB_SYNC_BACKOFF_MAX_SECONDS = 0.05
    settings.FINHUB_SYNC_TIMEOUT_SECONDS = 2
    settings.FINHUB_SYNC_STALE_SECONDS = 120
    settings.FINHUB_CONNECTOR_MAX_FAILURES = 3
    return settings


@pytest.fixture
def scorecard(db):
    """The two integration success metrics the sync pushes measurements to."""
    from tests.factories import SuccessMetricFactory

    return {key: SuccessMetricFactory(key=key) for key in ("data_sync_accuracy", "api_reliability")}


@pytest.fixture
def enqueued(monkeypatch):
    """Run ids whose sync task was sent (the broker stubbed out); each send returns the task
    id "celery-task-1"."""
    from connectors import tasks

    queued = []

    class Result:
        id = "celery-task-1"

    def delay(**kwargs):
        queued.append(kwargs["run_id"])
        return Result()

    monkeypatch.setattr(tasks.sync_connector, "delay", delay)
    return queued
