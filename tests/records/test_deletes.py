"""Deletions a source reports: soft, and audited in an IngestBatch like the admin's."""

import datetime as dt

import pytest

from records import models as m
from records.ingestion.deletes import records_soft_delete, records_soft_delete_unseen
from records.ingestion.services import Actor
from tests.factories import ChannelFactory, ConnectorFactory

pytestmark = pytest.mark.django_db

SYNC = Actor(via="sync", request_id="sync-run-7")
MARCH = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)


def test_a_soft_delete_records_the_deleted_ids_in_a_batch():
    source = ConnectorFactory()
    kept = ChannelFactory(source=source, external_id="CH-1", source_updated_at=MARCH)
    ChannelFactory(source=source, external_id="CH-2", source_updated_at=MARCH)
    ChannelFactory(source=source, external_id="CH-3", source_updated_at=None)
    deleted = records_soft_delete(
        source=source,
        entity="channels",
        deletions={
            "CH-1": MARCH - dt.timedelta(days=1),  # stored version is newer: kept
            "CH-2": MARCH + dt.timedelta(days=1),
            "CH-3": None,
            "CH-404": None,  # not held
        },
        actor=SYNC,
    )
    assert deleted == 2
    batch = m.IngestBatch.objects.get()
    assert (batch.via, batch.request_id, batch.entity) == ("sync", "sync-run-7", "channels")
    assert (batch.received, batch.deleted, batch.deleted_external_ids) == (2, 2, ["CH-2", "CH-3"])
    assert list(m.Channel.objects.values_list("external_id", flat=True)) == [kept.external_id]
    two = m.Channel.all_objects.get(external_id="CH-2")
    assert two.deleted_at is not None and two.last_batch_id == batch.pk
    assert two.source_updated_at == MARCH + dt.timedelta(days=1)  # the deletion's time

    # Nothing to delete: no batch.
    assert (
        records_soft_delete(source=source, entity="channels", deletions={"CH-2": None}, actor=SYNC)
        == 0
    )
    assert m.IngestBatch.objects.count() == 1


def test_unseen_records_of_the_source_alone_are_soft_deleted():
    source, other = ConnectorFactory(), ConnectorFactory()
    for ext in ("CH-1", "CH-2", "CH-3"):
        ChannelFactory(source=source, external_id=ext)
    ChannelFactory(source=other, external_id="CH-9")
    assert (
        records_soft_delete_unseen(source=source, entity="channels", seen={"CH-1"}, actor=SYNC) == 2
    )
    assert m.IngestBatch.objects.get().deleted_external_ids == ["CH-2", "CH-3"]
    assert set(m.Channel.objects.values_list("external_id", flat=True)) == {"CH-1", "CH-9"}
