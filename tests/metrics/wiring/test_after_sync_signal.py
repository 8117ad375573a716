"""A connector's successful sync reaches the metrics engine through ``records_synced`` (no
import between connectors and metrics): the engine queues one recompute after the commit."""

from unittest import mock

import pytest

from connectors.models import SyncRun
from records.signals import records_synced

pytestmark = pytest.mark.django_db


def test_records_synced_queues_a_recompute_after_the_commit(django_capture_on_commit_callbacks):
    with mock.patch("metrics.tasks.compute_metrics.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            records_synced.send(sender=SyncRun, connector_id=42)
        delay.assert_not_called()  # nothing before the sync's transaction commits
        for callback in callbacks:
            callback()
    delay.assert_called_once_with(connector_id=42)
