"""A connector's successful sync reaches the metrics engine through ``records_synced`` (no
import between connectors and metrics): the engine requests one (debounced) recompute after
the commit."""

from unittest import mock

import pytest
from django.conf import settings

from connectors.models import SyncRun
from records.signals import records_synced

pytestmark = pytest.mark.django_db


def test_records_synced_queues_a_recompute_after_the_commit(django_capture_on_commit_callbacks):
    with mock.patch("metrics.tasks.compute_metrics.apply_async") as send:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            records_synced.send(sender=SyncRun, connector_id=42)
        send.assert_not_called()  # nothing before the sync's transaction commits
        for callback in callbacks:
            callback()
    send.assert_called_once_with(
        kwargs={"connector_id": 42, "generation": 1},
        countdown=settings.FINHUB_RECOMPUTE_DEBOUNCE_SECONDS,
    )
