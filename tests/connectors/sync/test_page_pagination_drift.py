"""Page-numbered sources that change while a sync pages through them (found by
`make fault-test`, scenario "sandbox in chaos mode": Marketing touchpoints of 2026-07, 77 in
the source, 66 in FinHub after the final sync).

A page source lists ``updated_since`` rows ordered by (updated_at, id) and cuts pages by
offset. A record that changes moves to the end of the list, so every record after its old
place moves one place forward. Read front to back, the record pushed onto an already-read
page was never served, and the mark moved past it: lost until a full refresh.

The engine now walks such sources back to front (connectors/sync/adapters.PageAdapter) and
keeps the mark no later than the walk's start (engine._walk_cursor). The guarantee these
tests hold it to: every record that did NOT change during a sync is read by that sync; one
that changed during it may be missed by it (its new version sits behind the pages already
read) but is read by the NEXT incremental sync, since its new updated_at is after the mark.
So FinHub equals the source after the next sync, which is why each test runs one.
"""

import datetime as dt

import pytest

from connectors.models import SyncState
from records.models import Touchpoint
from tests.connectors.sync.helpers import (
    finhub_summary,
    run_sync,
    sandbox_connector,
    source_summary,
)

pytestmark = pytest.mark.django_db

PAGE = 20
MOVED = 5


def touchpoints(sandbox):
    return sandbox_connector(sandbox, "marketing", entities=["touchpoints"], page_size=PAGE)


def ids_in_finhub(connector) -> set[str]:
    return set(Touchpoint.objects.filter(source=connector).values_list("external_id", flat=True))


@pytest.mark.parametrize("change", ["update", "delete"])
def test_records_changed_during_a_paged_read_are_not_lost(sandbox, change):
    connector = touchpoints(sandbox)
    store = sandbox.store("marketing", "touchpoints")
    before = [ext_id for _, ext_id in store.index]
    first_page = before[:PAGE]
    changed = first_page[:MOVED]

    def change_records(ctx, entity, number):
        if entity == "touchpoints" and number in (1, 5):
            # A user edits (or deletes) records while the sync pages through the list: they
            # move to its end and every record after them moves up one place.
            ids = changed if number == 1 else before[7 * PAGE : 7 * PAGE + MOVED]
            sandbox.mutate("marketing", "touchpoints", **{f"{change}_ids": ids})

    run = run_sync(connector, after_page=change_records)
    assert run.status == "succeeded", run.message
    # Every record that did not change during the run was read by it.
    untouched = set(before) - set(changed) - set(before[7 * PAGE : 7 * PAGE + MOVED])
    assert untouched <= ids_in_finhub(connector)
    state = SyncState.objects.get(connector=connector, entity="touchpoints").cursor
    assert "walk" not in state and state["position"]["next_page"] == 0

    again = run_sync(connector)
    assert again.status == "succeeded", again.message
    assert finhub_summary(connector, "touchpoints") == source_summary(
        sandbox, connector, "touchpoints"
    )
    assert ids_in_finhub(connector) == set(store.live_ids())


def test_a_crashed_page_walk_resumes_where_it_stopped_and_loses_nothing(sandbox):
    connector = touchpoints(sandbox)
    store = sandbox.store("marketing", "touchpoints")
    pages = -(-len(store.index) // PAGE)

    class Crash(Exception):
        pass

    def crash(ctx, entity, number):
        if number == 2:
            raise Crash("worker died")

    crashed = run_sync(connector, after_page=crash)
    assert crashed.status == "failed"
    state = SyncState.objects.get(connector=connector, entity="touchpoints").cursor
    # The mark waits for the walk to finish; the walk knows where to carry on.
    assert state["high_water_mark"] is None
    assert state["walk"]["next_page"] == pages - 2 and state["walk"]["per_page"] == PAGE

    # Meanwhile records of the pages still to read change and move past the read ones.
    sandbox.mutate("marketing", "touchpoints", update_ids=[i for _, i in store.index[:3]])
    resumed = run_sync(connector)
    assert resumed.status == "succeeded", resumed.message
    assert resumed.pages == pages - 2  # the committed pages are not read again
    assert run_sync(connector).status == "succeeded"
    assert ids_in_finhub(connector) == set(store.live_ids())
    assert finhub_summary(connector, "touchpoints") == source_summary(
        sandbox, connector, "touchpoints"
    )


def test_the_mark_stays_behind_the_start_of_a_sync_that_read_recent_changes(sandbox, settings):
    settings.FINHUB_SYNC_OVERLAP_SECONDS = 300
    connector = touchpoints(sandbox)
    assert run_sync(connector).status == "succeeded"
    state = SyncState.objects.get(connector=connector, entity="touchpoints").cursor
    newest = max(stamp for stamp, _ in sandbox.store("marketing", "touchpoints").index)
    # Old data only: the mark is the newest updated_at read, as for cursor sources.
    assert dt.datetime.fromisoformat(state["high_water_mark"]) == newest

    sandbox.mutate("marketing", "touchpoints", update=2)  # stamped "now" by the source
    started = dt.datetime.now(dt.UTC)
    run = run_sync(connector)
    assert run.status == "succeeded" and run.rows_updated == 2
    mark = dt.datetime.fromisoformat(
        SyncState.objects.get(connector=connector, entity="touchpoints").cursor["high_water_mark"]
    )
    # Not the changes' own stamps: the start of the run less the overlap, so what changes
    # while it runs (on a clock up to 5 minutes off) is read by the next one.
    assert started - dt.timedelta(seconds=301) < mark <= started - dt.timedelta(seconds=299)
    again = run_sync(connector)
    assert again.rows_read == again.rows_unchanged == 2  # the overlap is re-read, unchanged
