"""Run one sync of a connector: ``sync_run_execute(run_id)``.

1. Claim the queued run (conditional UPDATE: a redelivered message finds it claimed and
   does nothing). A disabled or paused connector's run is recorded as skipped, and so is a
   run that finds another run holding the connector's lease (locks.py).
2. For each configured entity, in order: read pages from the adapter, starting at the
   saved high-water mark (incremental), from scratch (full refresh) or from a date
   (backfill). Each page is ONE transaction: map the records (mapping.py), keep the last
   version of each external id, ingest the rows through the same engine as the push API
   (invalid rows become RejectedRecords with reasons), soft-delete tombstones (through
   records' ingestion too, audited in a batch), save the entity's SyncState and the run's
   counters, heartbeat and extend the lease. A crash loses at most the page in flight; the
   next run resumes from the committed state.
3. A full refresh soft-deletes the entity's records it did not see (audited the same way).
4. Reconcile with the source's control totals, push the scorecard measurements, ask the
   metrics engine to recompute, reset the circuit breaker.

On failure the run records a one-line message and the traceback, through the one circuit
breaker (``runs.sync_run_fail``): the connector's consecutive failures grow, and it is paused
at FINHUB_CONNECTOR_MAX_FAILURES, or at once when the source refuses the credentials.

The high-water mark is the greatest source ``updated_at`` of committed records; the next
incremental run asks for ``updated_since=<mark>``, which the sources treat as inclusive
(>=), so records sharing the mark's timestamp across a page boundary are read again rather
than lost (re-reading them is harmless: unchanged rows are not rewritten).

Page-numbered sources (offset pages) are the exception: a record changing mid-read shifts
the others between pages. Their walk goes back to front and the mark moves only when it
completes, to no later than its start minus FINHUB_SYNC_OVERLAP_SECONDS (``_walk_cursor``):
what changed during a run is read by the next one; a crash resumes the walk at its page.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors.credentials import credentials_get
from connectors.models import Connector, SyncRun, SyncState
from connectors.services import api_reliability_push
from records.ingestion.deletes import records_soft_delete, records_soft_delete_unseen
from records.ingestion.rejects import Reject, rejects_store
from records.ingestion.services import Actor, ingest_records
from records.signals import records_synced

from . import locks, reconcile
from .adapters import DEFAULT_PAGE_SIZE, Adapter, Page, adapter_for, needs_http
from .errors import (
    ConfigError,
    LockLostError,
    RunAbandonedError,
    SourceAuthError,
    SyncError,
)
from .http import SourceClient
from .mapping import (
    entity_configs,
    external_id_of,
    is_tombstone,
    mapping_apply,
    mapping_validate,
    raw_updated_at,
    updated_at_of,
)
from .runs import sync_run_fail, sync_run_finish

logger = logging.getLogger(__name__)

# A page is one ingest call: the push API's per-request cap does not apply to it.
MAX_PAGE_RECORDS = 1_000_000
COUNTERS = ("pages", "read", "created", "updated", "unchanged", "rejected", "deleted")

AfterPage = Callable[["RunContext", str, int], None]


def _now() -> dt.datetime:
    return timezone.now()


@dataclass
class RunContext:
    """A run in progress: its counters, and the observer the HTTP client reports to."""

    run: SyncRun
    connector: Connector
    secrets: list[str] = field(default_factory=list)
    requests: int = 0
    request_failures: int = 0
    entity_stats: dict[str, dict[str, int]] = field(default_factory=dict)

    # --- RequestObserver ---------------------------------------------------------------

    def request_done(self, *, failed: bool) -> None:
        self.requests += 1
        self.request_failures += int(failed)

    def before_retry_sleep(self, *, seconds: float, error: Exception) -> None:
        # A backoff sleep must not look like a dead worker, nor let the lease lapse.
        self.heartbeat()

    # --- progress ------------------------------------------------------------------------

    def stats(self, entity: str) -> dict[str, int]:
        return self.entity_stats.setdefault(entity, dict.fromkeys(COUNTERS, 0))

    def totals(self) -> dict[str, int]:
        return {key: sum(stats[key] for stats in self.entity_stats.values()) for key in COUNTERS}

    def progress_fields(self) -> dict[str, Any]:
        totals = self.totals()
        return {
            "pages": totals["pages"],
            "rows_read": totals["read"],
            "rows_created": totals["created"],
            "rows_updated": totals["updated"],
            "rows_unchanged": totals["unchanged"],
            "rows_rejected": totals["rejected"],
            "rows_deleted": totals["deleted"],
            "requests": self.requests,
            "request_failures": self.request_failures,
            "entity_stats": self.entity_stats,
        }

    @property
    def actor(self) -> Actor:
        """Who writes the run's records: the batches name the run."""
        return Actor(via="sync", request_id=f"sync-run-{self.run.pk}")

    def heartbeat(self) -> None:
        """Extend the lease and record progress; raises when the run lost its lease or was
        abandoned by the reaper (it must stop: another run may be writing)."""
        now = _now()
        if not locks.lease_extend(connector_id=self.connector.pk, run_id=self.run.pk, now=now):
            raise LockLostError(
                f"Run #{self.run.pk} lost the connector's lock (its lease lapsed); stopped."
            )
        updated = SyncRun.objects.filter(pk=self.run.pk, status=SyncRun.Status.RUNNING).update(
            heartbeat_at=now, **self.progress_fields()
        )
        if updated != 1:
            raise RunAbandonedError(f"Run #{self.run.pk} was marked abandoned; stopped.")

    def scrub(self, text: str) -> str:
        """Belt and braces: no credential value survives in a message or a traceback."""
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text


# --- one page ------------------------------------------------------------------------------


@dataclass
class PreparedPage:
    rows: list[dict] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    tombstones: dict[str, dt.datetime | None] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    high_water: tuple[dt.datetime, str] | None = None
    read: int = 0


def prepare_page(entity_config: dict, page: Page) -> PreparedPage:
    """Map a page's records: the last version of each external id, tombstones apart,
    records that cannot be mapped as rejects with reasons."""
    prepared = PreparedPage(read=len(page.records) + len(page.rejects))
    prepared.rejects.extend(page.rejects)
    latest: dict[str, tuple[dt.datetime | None, Any]] = {}
    anonymous: list[Any] = []
    for raw in page.records:
        changed = updated_at_of(entity_config, raw)
        text = raw_updated_at(entity_config, raw)
        newer = prepared.high_water is None or (changed and changed > prepared.high_water[0])
        if changed is not None and text is not None and newer:
            prepared.high_water = (changed, text)
        ext = external_id_of(entity_config, raw)
        if not ext:
            anonymous.append(raw)
            continue
        prepared.seen.add(ext)
        kept = latest.get(ext)
        # Keep the latest version; on a tie (or no time) the later one in the page.
        if kept is None or kept[0] is None or changed is None or changed >= kept[0]:
            latest[ext] = (changed, raw)
    for raw in [raw for _, raw in latest.values()] + anonymous:
        ext = external_id_of(entity_config, raw)
        if ext and is_tombstone(entity_config, raw):
            prepared.tombstones[ext] = updated_at_of(entity_config, raw)
            continue
        row, errors = mapping_apply(entity_config, raw)
        if errors:
            prepared.rejects.append(Reject(raw, ext, errors))
        else:
            prepared.rows.append(row)
    return prepared


def _write_page(ctx: RunContext, entity: str, prepared: PreparedPage) -> dict[str, int]:
    """The page's writes (inside the page transaction); returns its counters."""
    connector = ctx.connector
    counts = dict.fromkeys(COUNTERS, 0)
    counts["pages"], counts["read"] = 1, prepared.read
    if prepared.rows or prepared.rejects:
        result = ingest_records(
            source=connector,
            entity=entity,
            records=prepared.rows,
            actor=ctx.actor,
            max_records=MAX_PAGE_RECORDS,
        )
        counts["created"], counts["updated"] = result.created, result.updated
        counts["unchanged"], counts["rejected"] = result.unchanged, result.rejected
        counts["rejected"] += rejects_store(
            source=connector,
            entity=entity,
            rejects=prepared.rejects,
            batch_id=result.batch_id,
            now=_now(),
            count_in_batch=True,
        )
    counts["deleted"] = records_soft_delete(
        source=connector, entity=entity, deletions=prepared.tombstones, actor=ctx.actor
    )
    return counts


# --- one entity ----------------------------------------------------------------------------


def _start_point(run: SyncRun, adapter: Adapter, saved: dict) -> str | None:
    if not adapter.supports_updated_since:
        return None
    if run.mode == SyncRun.Mode.INCREMENTAL:
        return saved.get("high_water_mark")
    if run.mode == SyncRun.Mode.BACKFILL and run.backfill_from:
        return f"{run.backfill_from.isoformat()}T00:00:00Z"
    return None


def _parse_mark(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _walk_to_resume(run: SyncRun, adapter: Adapter, saved: dict, page_size: int) -> dict | None:
    """The unfinished offset-page walk an incremental run carries on (same since and page
    size), or None: start a walk (full refresh and backfill always do)."""
    walk = saved.get("walk")
    if not adapter.pages_shift_on_change or run.mode != SyncRun.Mode.INCREMENTAL:
        return None
    if not isinstance(walk, dict) or walk.get("per_page") != page_size:
        return None
    if not isinstance(walk.get("next_page"), int) or walk["next_page"] < 1:
        return None
    return walk


def _walk_cursor(
    saved: dict,
    since: str | None,
    page_size: int,
    started: dt.datetime | None,
    mark: dt.datetime | None,
    mark_text: str | None,
    page: Page,
) -> dict[str, Any]:
    """The saved state after a page of an offset-page walk (adapters.PageAdapter).

    Such a walk reads every record that did not change while it ran, but one that changed
    meanwhile may be missed; its new updated_at is after the walk started. So the mark
    moves only when the walk completes, to the greatest updated_at read but no later than
    the walk's start minus FINHUB_SYNC_OVERLAP_SECONDS (the clock skew between FinHub and
    the source allowed for): the next run reads what changed during this one. Until then
    the previous mark stays, beside the walk to resume."""
    next_page = page.position.get("next_page", 0)
    started = started or _now()
    if next_page >= 1:
        walk = {
            "since": since,
            "per_page": page_size,
            "next_page": next_page,
            "started_at": started.isoformat(),
            "seen": mark_text,
        }
        return {"high_water_mark": saved.get("high_water_mark"), "walk": walk}
    settled = started - dt.timedelta(seconds=settings.FINHUB_SYNC_OVERLAP_SECONDS)
    if mark is None:
        return {"high_water_mark": saved.get("high_water_mark")}
    if mark < settled:
        return {"high_water_mark": mark_text}
    return {"high_water_mark": settled.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}


def sync_entity(
    ctx: RunContext,
    adapter: Adapter,
    entity_config: dict,
    *,
    page_size: int,
    after_page: AfterPage | None = None,
) -> None:
    run, connector = ctx.run, ctx.connector
    entity, resource = entity_config["entity"], entity_config["resource"]
    state, _ = SyncState.objects.get_or_create(connector=connector, entity=entity)
    saved = dict(state.cursor or {})
    mark_text = saved.get("high_water_mark")
    mark = _parse_mark(mark_text)
    snapshot = run.mode == SyncRun.Mode.FULL_REFRESH and adapter.lists_everything
    seen: set[str] = set()
    stats = ctx.stats(entity)
    since = _start_point(run, adapter, saved)
    walk = _walk_to_resume(run, adapter, saved, page_size)
    if walk is not None:
        since = walk["since"]
        mark, mark_text = _parse_mark(walk["seen"]), walk["seen"]
    started = _parse_mark(walk["started_at"]) if walk else _now()
    resume = {"start_page": walk["next_page"]} if walk else {}
    pages = adapter.pages(resource, updated_since=since, page_size=page_size, **resume)
    for number, page in enumerate(pages, start=1):
        prepared = prepare_page(entity_config, page)
        if snapshot:
            seen |= prepared.seen
        if prepared.high_water and (mark is None or prepared.high_water[0] > mark):
            mark, mark_text = prepared.high_water
        cursor: dict[str, Any] = {"high_water_mark": mark_text}
        if adapter.pages_shift_on_change:
            cursor = _walk_cursor(saved, since, page_size, started, mark, mark_text, page)
        before = dict(stats)
        try:
            with transaction.atomic():
                counts = _write_page(ctx, entity, prepared)
                state.cursor = {
                    **cursor,
                    "position": page.position,
                    "mode": run.mode,
                    "pages": number,
                }
                state.run = run
                state.save(update_fields=["cursor", "run", "updated_at"])
                for key, value in counts.items():
                    stats[key] += value
                # Last in the transaction: a run that lost its lease (or was abandoned)
                # raises here, and the page rolls back instead of committing beside
                # another run.
                ctx.heartbeat()
        except BaseException:
            stats.update(before)  # the page did not commit: neither do its counters
            raise
        if page.after_commit is not None:
            page.after_commit()
        if after_page is not None:
            after_page(ctx, entity, number)
    if snapshot and not seen:
        # A listing with nothing in it is far likelier a broken source than one that
        # deleted everything: keep the records (reconciliation will show the gap).
        logger.warning("full refresh of %s/%s listed nothing: no soft-deletes", connector, entity)
    elif snapshot:
        with transaction.atomic():
            stats["deleted"] += records_soft_delete_unseen(
                source=connector, entity=entity, seen=seen, actor=ctx.actor
            )
            ctx.heartbeat()


# --- the run -------------------------------------------------------------------------------


def _claim(run_id: int, task_id: str) -> bool:
    now = _now()
    fields: dict[str, Any] = {
        "status": SyncRun.Status.RUNNING,
        "started_at": now,
        "heartbeat_at": now,
    }
    if task_id:
        fields["celery_task_id"] = task_id
    return SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(**fields) == 1


def _skip_reason(run: SyncRun, connector: Connector) -> str | None:
    if not connector.enabled:
        return "disabled: the connector is switched off."
    if connector.paused_at is not None:
        reason = connector.pause_reason or "paused by an admin"
        return f"paused: {reason} (resume the connector to sync again)"
    return None


def _selected(run: SyncRun, connector: Connector) -> list[dict]:
    if connector.transport == Connector.Transport.PUSH_ONLY:
        raise ConfigError("push-only connector: nothing to pull")
    errors = mapping_validate(connector.sync_config)
    if errors:
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ConfigError("The sync configuration is invalid: " + " ".join(errors[:3]) + more)
    configs = entity_configs(connector.sync_config)
    if not run.entities:
        return configs
    configured = {c["entity"] for c in configs}
    unknown = [e for e in run.entities if e not in configured]
    if unknown:
        raise ConfigError(f"Not configured on this connector: {', '.join(unknown)}.")
    return [c for c in configs if c["entity"] in run.entities]


def sync_run_execute(
    run_id: int,
    *,
    task_id: str = "",
    after_page: AfterPage | None = None,
    transport: httpx.BaseTransport | None = None,
) -> SyncRun:
    """Execute the queued run ``run_id`` (see the module doc); returns it, finished.

    ``after_page(ctx, entity, page_number)`` runs after each committed page and
    ``transport`` replaces the network (tests: a crash after page k, a fake source). Safe to
    call twice for one run: only the first call claims it.
    """
    if not _claim(run_id, task_id):
        run = SyncRun.objects.get(pk=run_id)
        logger.info("sync run #%s is %s already: nothing to do", run_id, run.status)
        return run
    run = SyncRun.objects.select_related("connector").get(pk=run_id)
    connector = run.connector
    reason = _skip_reason(run, connector)
    if reason:
        sync_run_finish(run, status=SyncRun.Status.SKIPPED, message=reason)
        return run
    if not locks.lock_acquire(connector_id=connector.pk, run_id=run.pk):
        holder = locks.lock_holder(connector_id=connector.pk)
        if holder is not None or not locks.lock_acquire(connector_id=connector.pk, run_id=run.pk):
            held = holder.describe() if holder else "another run holds the connector's lock"
            sync_run_finish(run, status=SyncRun.Status.SKIPPED, message=f"Skipped: {held}.")
            return run
    ctx = RunContext(run=run, connector=connector)
    try:
        _execute(ctx, after_page, transport)
    except Exception as exc:
        _fail(ctx, exc)
    finally:
        locks.lock_release(connector_id=connector.pk, run_id=run.pk)
    run.refresh_from_db()
    try:
        if run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED):
            # The client has added this run's calls (it closed): the 30 days include them.
            api_reliability_push()
        if run.status == SyncRun.Status.SUCCEEDED:
            # The metrics engine listens (metrics/apps.py) and recomputes after the commit.
            records_synced.send(sender=SyncRun, connector_id=connector.pk)
    except Exception:
        # The run is recorded; what follows it must not turn it into a failed task.
        logger.exception("after sync run #%s: follow-up failed", run.pk)
    return run


def _execute(
    ctx: RunContext, after_page: AfterPage | None, transport: httpx.BaseTransport | None
) -> None:
    run, connector = ctx.run, ctx.connector
    configs = _selected(run, connector)
    credentials = credentials_get(connector) if needs_http(connector) else {}
    ctx.secrets = sorted(
        (v for v in credentials.values() if isinstance(v, str) and len(v) >= 4),
        key=len,
        reverse=True,
    )
    page_size = connector.sync_config.get("page_size") or DEFAULT_PAGE_SIZE
    client = (
        SourceClient(connector, observer=ctx, credentials=credentials, transport=transport)
        if needs_http(connector)
        else None
    )
    try:
        adapter = adapter_for(connector, client)
        for entity_config in configs:
            sync_entity(ctx, adapter, entity_config, page_size=page_size, after_page=after_page)
        pct, note = _reconcile(ctx, adapter, configs)
    finally:
        token = getattr(getattr(client, "auth", None), "_token", None)
        if token:
            ctx.secrets.append(token)
        if client is not None:
            client.close()
    _succeed(ctx, configs, pct, note)


def _reconcile(
    ctx: RunContext, adapter: Adapter, configs: list[dict]
) -> tuple[Decimal | None, str]:
    """Reconcile every synced entity; a source without control totals is not reconciled,
    and a failure to read them is noted on the run without failing the sync."""
    if not adapter.has_control_totals:
        return None, ""
    try:
        totals = {c["entity"]: adapter.control_totals(c["resource"]) for c in configs}
        ctx.heartbeat()
        with transaction.atomic():
            results = [
                reconcile.reconcile_entity(
                    run=ctx.run,
                    connector=ctx.connector,
                    entity=entity,
                    control_totals=entity_totals,
                )
                for entity, entity_totals in totals.items()
            ]
    except (LockLostError, RunAbandonedError):
        raise
    except SyncError as exc:
        return None, f" Reconciliation unavailable: {exc}"
    pct = reconcile.matched_pct(results)
    return pct, "" if pct is None else f" Reconciliation: {pct}% of buckets matched."


def _succeed(ctx: RunContext, configs: list[dict], pct: Decimal | None, note: str) -> None:
    totals = ctx.totals()
    names = ", ".join(c["entity"] for c in configs)
    message = (
        f"Synced {names}: {totals['read']} read, {totals['created']} created, "
        f"{totals['updated']} updated, {totals['unchanged']} unchanged, "
        f"{totals['rejected']} rejected, {totals['deleted']} deleted.{note}"
    )
    now = _now()
    with transaction.atomic():
        done = sync_run_finish(
            ctx.run,
            status=SyncRun.Status.SUCCEEDED,
            message=ctx.scrub(message),
            reconciliation_matched_pct=pct,
            heartbeat_at=now,
            **ctx.progress_fields(),
        )
        if not done:
            return
        Connector.objects.filter(pk=ctx.connector.pk).update(
            consecutive_failures=0, last_success_at=now
        )
    if pct is not None:
        _measure(
            "data_sync_accuracy",
            pct,
            f"Reconciliation of {ctx.connector.name}, sync run #{ctx.run.pk}.",
        )


def _one_line(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, SyncError) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text[:1000] or type(exc).__name__


def _fail(ctx: RunContext, exc: Exception) -> None:
    message = ctx.scrub(_one_line(exc))
    logger.warning("sync run #%s of %s failed: %s", ctx.run.pk, ctx.connector.slug, message)
    pause_reason = ""
    if isinstance(exc, SourceAuthError):
        when = _now().strftime("%Y-%m-%d %H:%M UTC")
        pause_reason = (
            f"The source refused the credentials (HTTP {exc.status_code}) on {when}: "
            "check the connector's credentials, then resume it."
        )
    # False when the reaper abandoned the run meanwhile: that record stands.
    sync_run_fail(
        ctx.run,
        message=message,
        last=f"last error: {message}",
        pause_reason=pause_reason,
        traceback=ctx.scrub(traceback.format_exc()),
        **ctx.progress_fields(),
    )


# --- scorecard measurements ------------------------------------------------------------------


def _measure(metric_key: str, value: Decimal, note: str) -> None:
    """Push a scorecard measurement; a scorecard without that metric is not an error."""
    from roadmap.selectors import metric_list
    from roadmap.services import MeasurementError, measurement_record

    if not metric_list().filter(key=metric_key).exists():
        return
    try:
        measurement_record(
            metric_key=metric_key, value=value, source=f"auto:{metric_key}", note=note[:500]
        )
    except MeasurementError as exc:
        logger.warning("measurement %s not recorded: %s", metric_key, exc)
