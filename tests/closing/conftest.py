import pytest

from tests.connectors.conftest import _sandbox_server


@pytest.fixture
def sandbox():
    """A fresh sandbox source on 127.0.0.1 (as in the connector tests)."""
    server = _sandbox_server(log=True).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fast_sync(settings):
    """Tiny backoff and short timeouts so that sync retries cost milliseconds."""
    settings.FINHUB_SYNC_MAX_ATTEMPTS = 3
    settings.FINHUB_SYNC_BACKOFF_SECONDS = 0.001
    settings.FINHUB_SYNC_BACKOFF_MAX_SECONDS = 0.05
    settings.FINHUB_SYNC_TIMEOUT_SECONDS = 2
    return settings


@pytest.fixture
def close_queue(monkeypatch):
    """Close task ids sent to Celery (the broker stubbed out), in the order sent."""
    from closing import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.close_task_run, "delay", lambda task_id: queued.append(task_id))
    return queued


@pytest.fixture(autouse=True)
def _no_after_sync_recompute(monkeypatch):
    """A successful sync asks the metrics engine for a debounced recompute through the
    broker; the close recomputes in its own task, so the message is only recorded."""
    from metrics import tasks

    sent: list[dict] = []
    monkeypatch.setattr(tasks.compute_metrics, "apply_async", lambda **kw: sent.append(kw))
    return sent
