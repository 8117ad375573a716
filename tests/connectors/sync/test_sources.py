"""The engine against small fake sources (httpx.MockTransport) and a file drop folder."""

import json

import httpx
import pytest

from connectors.models import Connector, SyncRun, SyncState
from connectors.sync.engine import sync_run_execute
from records.models import Channel, IngestBatch, RejectedRecord

pytestmark = pytest.mark.django_db

CHANNELS = {
    "entity": "channels",
    "resource": "channels",
    "fields": {
        "external_id": "id",
        "updated_at": {"path": "updated_at", "type": "datetime"},
        "name": "name",
        "is_paid": {"path": "paid", "type": "bool", "default": False},
    },
    "deleted_flag": "deleted",
}


def channel(n, stamp="2026-03-01T10:00:00.000000Z", **extra):
    return {"id": f"CH-{n}", "updated_at": stamp, "name": f"Channel {n}", **extra}


class FakeCursorSource:
    """A cursor-paginated source with an inclusive updated_since, like the sandbox."""

    def __init__(self, rows):
        self.rows = rows
        self.requests = []

    def ordered(self, since):
        rows = sorted(self.rows, key=lambda r: (r["updated_at"], r["id"]))
        return [r for r in rows if since is None or r["updated_at"] >= since]

    def handler(self, request):
        self.requests.append(request)
        params = request.url.params
        if request.url.path.endswith("/control-totals"):
            live = [r for r in self.rows if not r.get("deleted")]
            return httpx.Response(200, json={"totals": [{"month": None, "count": len(live)}]})
        rows = self.ordered(params.get("updated_since"))
        start = int(params.get("cursor", 0))
        limit = int(params["limit"])
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        return httpx.Response(
            200, json={"data": page, "next_cursor": str(start + limit) if more else None}
        )

    @property
    def transport(self):
        return httpx.MockTransport(self.handler)


def rest_connector(page_size=2):
    return Connector.objects.create(
        name="Fake source",
        kind="marketing",
        transport="rest_pull",
        base_url="http://fake.test/v1",
        pagination="cursor",
        sync_config={"entities": [CHANNELS], "page_size": page_size},
    )


def execute(connector, *, mode="incremental", **kwargs):
    run = SyncRun.objects.create(connector=connector, trigger="manual", mode=mode)
    return sync_run_execute(run.pk, **kwargs)


def test_rows_sharing_a_timestamp_across_a_page_boundary_are_never_lost():
    # Six rows with one updated_at, two per page; the run dies after the first page.
    source = FakeCursorSource([channel(n) for n in range(6)])
    connector = rest_connector(page_size=2)

    def crash(ctx, entity, number):
        raise RuntimeError("worker died")

    crashed = execute(connector, transport=source.transport, after_page=crash)
    assert crashed.status == "failed"
    assert Channel.objects.filter(source=connector).count() == 2
    state = SyncState.objects.get(connector=connector, entity="channels")
    assert state.cursor["high_water_mark"] == "2026-03-01T10:00:00.000000Z"

    resumed = execute(connector, transport=source.transport)
    assert resumed.status == "succeeded", resumed.message
    # The mark is inclusive: the two committed rows are read again (unchanged), none lost.
    assert Channel.objects.filter(source=connector).count() == 6
    assert (resumed.rows_created, resumed.rows_unchanged) == (4, 2)
    assert source.requests[-4].url.params["updated_since"] == "2026-03-01T10:00:00.000000Z"
    assert resumed.reconciliation_matched_pct == 100


def test_the_last_version_of_a_record_in_a_page_wins_and_tombstones_soft_delete():
    source = FakeCursorSource(
        [
            channel(1, "2026-03-01T10:00:00Z"),
            channel(2, "2026-03-01T10:00:00Z"),
        ]
    )
    connector = rest_connector(page_size=10)
    assert execute(connector, transport=source.transport).status == "succeeded"
    source.rows = [
        channel(1, "2026-03-02T10:00:00Z", name="Old name"),
        channel(1, "2026-03-02T11:00:00Z", name="New name"),
        {"id": "CH-2", "updated_at": "2026-03-02T12:00:00Z", "deleted": True},
    ]
    run = execute(connector, transport=source.transport)
    assert run.status == "succeeded", run.message
    assert (run.rows_read, run.rows_updated, run.rows_deleted) == (3, 1, 1)
    assert Channel.objects.get(source=connector, external_id="CH-1").name == "New name"
    assert not Channel.objects.filter(external_id="CH-2").exists()
    assert Channel.all_objects.get(external_id="CH-2").deleted_at is not None
    # An older copy of the deleted record does not bring it back.
    source.rows = [channel(2, "2026-03-02T11:30:00Z")]
    stale = execute(connector, transport=source.transport, mode="full_refresh")
    assert stale.status == "succeeded" and stale.rows_read == 1
    assert not Channel.objects.filter(external_id="CH-2").exists()
    # A newer version (re-created in the source) does.
    source.rows = [channel(2, "2026-03-03T09:00:00Z")]
    execute(connector, transport=source.transport)
    assert Channel.objects.filter(external_id="CH-2").exists()


def test_rows_that_cannot_be_mapped_are_rejected_with_the_value_and_the_rest_loads():
    source = FakeCursorSource(
        [channel(1), channel(2, paid="perhaps"), channel(3, name=""), channel(4)]
    )
    connector = rest_connector(page_size=10)
    run = execute(connector, transport=source.transport)
    assert run.status == "succeeded", run.message
    assert (run.rows_created, run.rows_rejected) == (2, 2)
    rejected = {r.external_id: r for r in RejectedRecord.objects.filter(source=connector)}
    assert rejected["CH-2"].errors == {"is_paid": ["paid: cannot read 'perhaps' as true/false."]}
    assert rejected["CH-2"].payload["paid"] == "perhaps"  # the source record as received
    assert rejected["CH-3"].errors == {"name": ["This field is required."]}
    batch = IngestBatch.objects.get(source=connector)
    assert (batch.received, batch.created, batch.rejected) == (4, 2, 2)
    assert set(RejectedRecord.objects.values_list("batch_id", flat=True)) == {batch.pk}


def test_a_source_answering_an_unexpected_shape_fails_the_run():
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=[1, 2]))
    run = execute(rest_connector(), transport=transport)
    assert run.status == "failed"
    assert run.message == "GET channels: the response has no 'data' list (got list)."


def test_an_invalid_sync_config_fails_with_the_reason():
    connector = rest_connector()
    Connector.objects.filter(pk=connector.pk).update(sync_config={"entities": [{"entity": "x"}]})
    run = execute(connector)
    assert run.status == "failed"
    assert run.message.startswith("The sync configuration is invalid: entities[0]: unknown entity")


def test_pulling_a_push_only_connector_is_an_error():
    connector = Connector.objects.create(name="Pushy", kind="crm", transport="push_only")
    run = execute(connector)
    assert run.status == "failed" and run.message == "push-only connector: nothing to pull"


# --- file drop -------------------------------------------------------------------------------


def test_a_file_drop_loads_ndjson_and_csv_in_name_order_and_moves_them(tmp_path):
    folder = tmp_path / "channels"
    folder.mkdir()
    lines = [
        json.dumps(channel(1)),
        '{"id": "CH-2", "name": "Broken',
        "",
        json.dumps(channel(3, name="")),
        json.dumps(channel(4, name="First name")),
    ]
    (folder / "001-channels.ndjson").write_text("\n".join(lines) + "\n")
    (folder / "002-channels.csv").write_text(
        "id,updated_at,name,paid\n"
        "CH-4,2026-03-02T10:00:00Z,From the CSV,true\n"
        "CH-5,2026-03-02T10:00:00Z,Five,no\n"
    )
    (folder / "notes.txt").write_text("not a data file")
    connector = Connector.objects.create(
        name="Drop", kind="marketing", transport="file_drop", drop_path=str(tmp_path),
        sync_config={"entities": [CHANNELS]},
    )  # fmt: skip
    run = execute(connector)
    assert run.status == "succeeded", run.message
    assert (run.pages, run.rows_read, run.rows_created, run.rows_updated) == (2, 6, 3, 1)
    assert run.rows_rejected == 2
    names = dict(Channel.objects.filter(source=connector).values_list("external_id", "name"))
    assert names == {"CH-1": "Channel 1", "CH-4": "From the CSV", "CH-5": "Five"}
    assert Channel.objects.get(external_id="CH-4").is_paid is True
    malformed = RejectedRecord.objects.get(source=connector, external_id="")
    [reason] = malformed.errors["non_field_errors"]
    assert reason.startswith("001-channels.ndjson line 2: not valid JSON (Unterminated string")
    assert malformed.payload["line"] == 2
    assert RejectedRecord.objects.get(external_id="CH-3").errors == {
        "name": ["This field is required."]
    }
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "processed"]
    assert sorted(p.name for p in (folder / "processed").iterdir()) == [
        "001-channels.ndjson",
        "002-channels.csv",
    ]
    assert run.reconciliation_matched_pct is None  # a folder has no control totals

    again = execute(connector)
    assert again.status == "succeeded" and again.rows_read == 0


def test_a_full_refresh_that_lists_nothing_deletes_nothing():
    source = FakeCursorSource([channel(1), channel(2)])
    connector = rest_connector(page_size=10)
    execute(connector, transport=source.transport)
    source.rows = []  # a broken listing, far likelier than a source emptied overnight
    run = execute(connector, transport=source.transport, mode="full_refresh")
    assert run.status == "succeeded" and run.rows_deleted == 0
    assert Channel.objects.filter(source=connector).count() == 2
    assert run.reconciliation_matched_pct == 0  # the gap shows in reconciliation


def test_a_syncs_soft_deletes_are_audited_in_a_batch():
    source = FakeCursorSource([channel(n, "2026-03-01T10:00:00Z") for n in (1, 2, 3)])
    connector = rest_connector(page_size=10)
    execute(connector, transport=source.transport)
    source.rows = [
        {"id": "CH-2", "updated_at": "2026-03-02T10:00:00Z", "deleted": True},
        # Older than the stored version (re-created since): not deleted.
        {"id": "CH-1", "updated_at": "2026-02-01T10:00:00Z", "deleted": True},
        {"id": "CH-9", "updated_at": "2026-03-02T10:00:00Z", "deleted": True},  # never held
    ]
    run = execute(connector, transport=source.transport)
    assert run.status == "succeeded", run.message
    assert run.rows_deleted == 1
    batch = IngestBatch.objects.get(source=connector, deleted__gt=0)
    assert (batch.entity, batch.via, batch.request_id) == ("channels", "sync", f"sync-run-{run.pk}")
    assert (batch.deleted, batch.deleted_external_ids) == (1, ["CH-2"])
    gone = Channel.all_objects.get(source=connector, external_id="CH-2")
    assert gone.deleted_at is not None and gone.last_batch_id == batch.pk
    assert gone.source_updated_at.isoformat() == "2026-03-02T10:00:00+00:00"

    # A full refresh's deletions of what it no longer lists are audited the same way.
    source.rows = [channel(1, "2026-03-01T10:00:00Z")]
    refresh = execute(connector, transport=source.transport, mode="full_refresh")
    assert refresh.status == "succeeded" and refresh.rows_deleted == 1
    batch = IngestBatch.objects.filter(source=connector, deleted__gt=0).latest("pk")
    assert batch.request_id == f"sync-run-{refresh.pk}"
    assert (batch.deleted, batch.deleted_external_ids) == (1, ["CH-3"])
    assert Channel.all_objects.get(external_id="CH-3").last_batch_id == batch.pk
    assert IngestBatch.objects.filter(source=connector, deleted__gt=0).count() == 2
