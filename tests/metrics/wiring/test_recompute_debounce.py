"""After-sync recomputes are debounced (#18, item 15): syncs finishing within
FINHUB_RECOMPUTE_DEBOUNCE_SECONDS of each other cause one recompute, and a sync after that
recompute started causes another. The queue is simulated: the messages the services publish
are collected and delivered afterwards, as a worker does once their countdown is over."""

import datetime as dt
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone

from connectors.models import SyncRun
from metrics import tasks
from metrics.models import RecomputeRequest
from records.signals import records_synced
from tests.connectors.helpers import make_token, post_json

pytestmark = pytest.mark.django_db


class Broker:
    """Collects compute_metrics messages instead of sending them; ``deliver`` runs them."""

    def __init__(self):
        self.queued: list[dict] = []
        self.computed = 0

    def apply_async(self, *, kwargs, countdown):
        self.queued.append({"kwargs": kwargs, "countdown": countdown})

    def deliver(self):
        queued, self.queued = self.queued, []
        for message in queued:
            tasks.compute_metrics.run(**message["kwargs"])


@pytest.fixture
def broker(monkeypatch):
    fake = Broker()
    monkeypatch.setattr(tasks.compute_metrics, "apply_async", fake.apply_async)

    def compute_all():
        fake.computed += 1
        return {"snapshots": 0}

    def recompute_changed(**kwargs):
        if "exclude" not in kwargs:  # the after-sync run (the nightly one says what it did)
            fake.computed += 1
        return {"recomputed": 0}

    monkeypatch.setattr(tasks, "metrics_compute_all", compute_all)
    monkeypatch.setattr(tasks, "metrics_recompute_changed", recompute_changed)
    monkeypatch.setattr(tasks, "snapshots_warm", lambda: {"snapshots": 0})
    return fake


def sync_finishes(connector_id: int, callbacks_fixture) -> None:
    """What the sync engine does after a successful run: send the signal, then commit."""
    with callbacks_fixture(execute=True):
        records_synced.send(sender=SyncRun, connector_id=connector_id)


@override_settings(FINHUB_RECOMPUTE_DEBOUNCE_SECONDS=30)
def test_six_syncs_in_a_row_cause_one_recompute_and_a_later_sync_another(
    broker, django_capture_on_commit_callbacks
):
    for connector_id in range(1, 7):
        sync_finishes(connector_id, django_capture_on_commit_callbacks)
    assert len(broker.queued) == 6
    assert {m["countdown"] for m in broker.queued} == {30}
    assert [m["kwargs"]["generation"] for m in broker.queued] == [1, 2, 3, 4, 5, 6]

    broker.deliver()
    assert broker.computed == 1  # the five earlier messages found a later request and skipped
    marker = RecomputeRequest.objects.get()
    assert (marker.generation, marker.started_generation) == (6, 6)

    sync_finishes(7, django_capture_on_commit_callbacks)
    broker.deliver()
    assert broker.computed == 2


def test_a_sync_while_a_recompute_runs_gets_its_own(broker, django_capture_on_commit_callbacks):
    sync_finishes(1, django_capture_on_commit_callbacks)
    (first,) = broker.queued
    broker.queued.clear()

    def sync_during_compute():
        broker.computed += 1
        if broker.computed == 1:  # the data a sync commits now may be missed by this run
            sync_finishes(2, django_capture_on_commit_callbacks)
        return {"recomputed": 0}

    with mock.patch.object(tasks, "metrics_recompute_changed", sync_during_compute):
        tasks.compute_metrics.run(**first["kwargs"])
        assert broker.computed == 1
        broker.deliver()
    assert broker.computed == 2


def test_nothing_is_queued_before_the_sync_commits(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        records_synced.send(sender=SyncRun, connector_id=42)
    assert broker.queued == []
    assert not RecomputeRequest.objects.exists()
    for callback in callbacks:
        callback()
    assert [m["kwargs"] for m in broker.queued] == [{"connector_id": 42, "generation": 1}]


def test_the_nightly_run_is_never_skipped(broker, django_capture_on_commit_callbacks):
    sync_finishes(1, django_capture_on_commit_callbacks)  # a request pending, generation 1
    tasks.compute_metrics.run()  # the beat schedule sends no generation
    assert broker.computed == 1


@override_settings(FINHUB_RECOMPUTE_DEBOUNCE_SECONDS=30, FINHUB_RECOMPUTE_MAX_WAIT_SECONDS=300)
def test_a_stream_of_requests_cannot_postpone_the_recompute_past_the_maximum_wait(
    broker, django_capture_on_commit_callbacks
):
    sync_finishes(1, django_capture_on_commit_callbacks)
    sync_finishes(2, django_capture_on_commit_callbacks)
    first, second = broker.queued
    broker.queued.clear()
    tasks.compute_metrics.run(**first["kwargs"])
    assert broker.computed == 0  # a later request is pending and it is not overdue

    # Requests have kept coming for longer than the maximum wait: the next message runs
    # even though a later request is pending again.
    RecomputeRequest.objects.update(pending_since=timezone.now() - dt.timedelta(seconds=301))
    sync_finishes(3, django_capture_on_commit_callbacks)
    broker.queued.clear()
    tasks.compute_metrics.run(**second["kwargs"])
    assert broker.computed == 1
    marker = RecomputeRequest.objects.get()
    assert (marker.started_generation, marker.pending_since) == (3, None)

    # The next request waits again from its own time.
    sync_finishes(4, django_capture_on_commit_callbacks)
    assert RecomputeRequest.objects.get().pending_since is not None


def test_a_push_that_changed_records_requests_a_recompute_and_an_unchanged_one_does_not(
    broker, django_capture_on_commit_callbacks, client
):
    _token, plaintext = make_token(entities=("departments",))
    body = [{"external_id": "DEP-X", "code": "X", "name": "Test department"}]
    for status in (201, 200):  # created, then the identical re-send: unchanged
        with django_capture_on_commit_callbacks(execute=True):
            response = post_json(client, "/api/v1/ingest/departments/", body, token=plaintext)
        assert response.status_code == status, response.content
        assert len(broker.queued) == 1  # only the push that created a record asked
