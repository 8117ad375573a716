"""Reads for connectors: tokens, freshness of each source, the connector health page and
the syncs' reliability measured on the scorecard.

Freshness and health are computed set-based: a fixed number of queries whatever the number
of connectors, so dashboards and the health page stay cheap as sources are added.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone
from django.utils.timesince import timesince

from connectors.models import ApiToken, Connector, ReconciliationResult, SourceCallDay, SyncRun
from finhub.core.money import CENT


def api_token_by_prefix(*, prefix: str) -> ApiToken | None:
    return ApiToken.objects.select_related("connector").filter(prefix=prefix).first()


def connector_by_slug(*, slug: str) -> Connector | None:
    return Connector.objects.filter(slug=slug).first()


# --- freshness ------------------------------------------------------------------------------

# Connectors FinHub pulls from. Push-only sources send data when they have it: FinHub cannot
# tell late from quiet, so they have no freshness.
PULL_TRANSPORTS = (Connector.Transport.REST_PULL, Connector.Transport.FILE_DROP)
# With neither stale_after_minutes nor an interval schedule, a day without a good sync is stale.
DEFAULT_STALE_AFTER = timedelta(hours=24)
FRESH, STALE, FAILING, PAUSED, NEVER = "fresh", "stale", "failing", "paused", "never"
STATUS_LABELS = {
    FRESH: "Fresh",
    STALE: "Stale",
    FAILING: "Failing",
    PAUSED: "Paused",
    NEVER: "Never synced",
}
_INTERVAL_PERIOD_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


@dataclass(frozen=True)
class SourceFreshness:
    """How current one source's data is, in words a dashboard can show as is."""

    connector_id: int
    name: str
    kind: str
    kind_label: str
    last_success_at: datetime | None
    status: str  # "fresh" | "stale" | "failing" | "paused" | "never"
    message: str
    is_warning: bool

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def time_ago(moment: datetime, now: datetime) -> str:
    """'3 hours ago', 'just now' (plain spaces: it goes into sentences and tooltips)."""
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago".replace("\xa0", " ")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def connector_stale_after(connector: Connector) -> timedelta:
    """How long without a good sync before the source counts as stale.

    Reads ``connector.periodic_task.interval``: select it with the connector.
    """
    if connector.stale_after_minutes:
        return timedelta(minutes=connector.stale_after_minutes)
    task = connector.periodic_task
    if task is not None and task.enabled and task.interval is not None:
        seconds = task.interval.every * _INTERVAL_PERIOD_SECONDS.get(task.interval.period, 0)
        if seconds:
            # One missed run is normal (a slow or retried sync); two in a row is not.
            return timedelta(seconds=2 * seconds)
    return DEFAULT_STALE_AFTER


def connector_freshness(connector: Connector, *, now: datetime) -> SourceFreshness:
    """The status and message of one connector (no query if its periodic task and interval
    were selected with it)."""
    last = connector.last_success_at
    last_text = f"last good sync {time_ago(last, now)}" if last else "never synced successfully"
    failures = connector.consecutive_failures
    if connector.paused_at:
        reason = connector.pause_reason or "no reason given"
        if failures:
            message = f"Paused after {_plural(failures, 'failed run')}: {reason}"
        else:
            message = f"Paused: {reason}"
        status, message = PAUSED, f"{message.rstrip('.')}; {last_text}."
    elif failures:
        status = FAILING
        message = f"The last {_plural(failures, 'sync')} failed; {last_text}."
        if failures == 1:
            message = f"The last sync failed; {last_text}."
    elif last is None:
        status, message = NEVER, "Never synced."
    elif now - last > connector_stale_after(connector):
        status = STALE
        message = f"Stale: {last_text}."
    else:
        status, message = FRESH, f"{last_text[0].upper()}{last_text[1:]}."
    return SourceFreshness(
        connector_id=connector.pk,
        name=connector.name,
        kind=connector.kind,
        kind_label=connector.get_kind_display(),
        last_success_at=last,
        status=status,
        message=message,
        is_warning=status != FRESH,
    )


def _pull_connectors():
    return Connector.objects.filter(transport__in=PULL_TRANSPORTS).select_related(
        "periodic_task__interval", "periodic_task__crontab"
    )


def source_freshness(now: datetime | None = None) -> list[SourceFreshness]:
    """Freshness of every enabled source FinHub pulls from, by connector name. One query.

    Disabled connectors are left out (they were switched off on purpose), and so are
    push-only ones (see PULL_TRANSPORTS).
    """
    now = now or timezone.now()
    connectors = _pull_connectors().filter(enabled=True).order_by("name")
    return [connector_freshness(connector, now=now) for connector in connectors]


# --- health page ----------------------------------------------------------------------------

RECENT_RUNS = 10
HEALTH_WINDOWS = (7, 30)  # days
# Runs that count for the success rate: a skipped run never tried (another one was running).
_COUNTED = (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED, SyncRun.Status.ABANDONED)
_RUN_CHIP = {
    SyncRun.Status.SUCCEEDED: ("ok", "good"),
    SyncRun.Status.FAILED: ("failed", "bad"),
    SyncRun.Status.ABANDONED: ("lost", "bad"),
    SyncRun.Status.SKIPPED: ("skipped", ""),
    SyncRun.Status.RUNNING: ("running", "warn"),
    SyncRun.Status.QUEUED: ("queued", ""),
}


@dataclass(frozen=True)
class RunChip:
    """One of a connector's recent runs, as a small status chip."""

    run_id: int
    status: str
    status_label: str
    short_label: str
    css: str  # badge modifier: good / bad / warn / ""
    trigger_label: str
    mode_label: str
    created_at: datetime
    message: str


@dataclass(frozen=True)
class WindowStats:
    """A connector's runs over the last ``days`` days."""

    days: int
    runs_counted: int = 0  # succeeded + failed + abandoned
    runs_succeeded: int = 0
    requests: int = 0
    request_failures: int = 0
    rows_read: int = 0
    rows_changed: int = 0  # created + updated + deleted in FinHub

    @property
    def success_rate(self) -> Decimal | None:
        """Succeeded / finished non-skipped runs, in percent (None: no such run)."""
        if not self.runs_counted:
            return None
        return _percent(self.runs_succeeded, self.runs_counted)

    @property
    def uptime(self) -> Decimal | None:
        """1 - failed requests / requests to the source, in percent (None: no request)."""
        if not self.requests:
            return None
        return _percent(self.requests - self.request_failures, self.requests)


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"))


# --- measured on the scorecard ---------------------------------------------------------------


def percent_down(part: int, whole: int) -> Decimal:
    """``part`` / ``whole`` x 100 rounded down to 2 places: a measured share never shows more
    than was achieved (100.00 means all)."""
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, rounding=ROUND_DOWN)


RELIABILITY_DAYS = 30


@dataclass(frozen=True)
class ReliabilityRow:
    """API reliability of one connector (or of all: ``connector_id`` 0) over the last days
    (docs/connectors.md, "API reliability"): logical calls by outcome.

    ``reliability_percent`` = succeeded / calls, in percent, 2 places half-up (None: no
    call). FinHub-side failures count against it and are shown apart (``failed_finhub``,
    ``finhub_failure_percent``) so that a wrong mapping or refused credentials are not
    mistaken for an unreliable source."""

    connector_id: int
    connector_name: str
    calls: int
    succeeded: int
    retried_succeeded: int
    failed_source: int
    failed_finhub: int
    attempts: int = 0
    days: int = RELIABILITY_DAYS
    reliability_percent: Decimal | None = field(init=False)

    def __post_init__(self) -> None:
        # A field, not a property: the row's dict (asdict, a template) carries it too.
        object.__setattr__(self, "reliability_percent", percent_half_up(self.succeeded, self.calls))

    @property
    def source_failure_percent(self) -> Decimal | None:
        return percent_half_up(self.failed_source, self.calls)

    @property
    def finhub_failure_percent(self) -> Decimal | None:
        return percent_half_up(self.failed_finhub, self.calls)

    @property
    def failed(self) -> int:
        return self.failed_source + self.failed_finhub


def percent_half_up(part: int, whole: int) -> Decimal | None:
    """``part`` / ``whole`` in percent, 2 places half-up; None when ``whole`` is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP)


_CALL_FIELDS = (
    "calls",
    "succeeded",
    "retried_succeeded",
    "failed_source",
    "failed_finhub",
    "attempts",
)


def reliability_first_day(*, days: int = RELIABILITY_DAYS, now: datetime | None = None):
    """The first day of the window: the last ``days`` days, today (local date) included."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    return timezone.localdate(now or timezone.now()) - timedelta(days=days - 1)


def _call_sums() -> dict:
    return {name: Coalesce(Sum(name), 0) for name in _CALL_FIELDS}


def api_reliability_by_connector(
    *, days: int = RELIABILITY_DAYS, now: datetime | None = None
) -> list[ReliabilityRow]:
    """API reliability of each connector that made calls in the last ``days`` days, by
    connector name. One query whatever the number of connectors."""
    first = reliability_first_day(days=days, now=now)
    rows = (
        SourceCallDay.objects.filter(day__gte=first)
        .values("connector_id", "connector__name")
        .annotate(**_call_sums())
        .order_by("connector__name", "connector_id")
    )
    return [
        ReliabilityRow(
            connector_id=row["connector_id"],
            connector_name=row["connector__name"],
            days=days,
            **{name: row[name] for name in _CALL_FIELDS},
        )
        for row in rows
    ]


def api_reliability_overall(
    *, days: int = RELIABILITY_DAYS, now: datetime | None = None
) -> ReliabilityRow:
    """API reliability of all connectors together over the last ``days`` days (the scorecard
    figure): one aggregate query; ``reliability_percent`` is None when no call was made."""
    first = reliability_first_day(days=days, now=now)
    totals = SourceCallDay.objects.filter(day__gte=first).aggregate(**_call_sums())
    return ReliabilityRow(
        connector_id=0,
        connector_name="All connectors",
        days=days,
        **{name: totals[name] for name in _CALL_FIELDS},
    )


@dataclass(frozen=True)
class ConnectorHealth:
    connector: Connector
    freshness: SourceFreshness
    schedule: str
    recent_runs: list[RunChip]
    windows: dict[int, WindowStats]
    reconciliation_run_id: int | None
    reconciliation_pct: Decimal | None
    reconciliation_at: datetime | None
    reconciliation_buckets: int
    reconciliation_mismatched: int
    # API reliability over RELIABILITY_DAYS (None: no call to the source in that time).
    reliability: ReliabilityRow | None = None

    @property
    def week(self) -> WindowStats:
        return self.windows[7]

    @property
    def month(self) -> WindowStats:
        return self.windows[30]


def connector_schedule_label(connector: Connector) -> str:
    """'Every 15 minutes' / 'Cron 0 6 * * *' / 'Manual only' (periodic task selected with it)."""
    task = connector.periodic_task
    if task is None:
        return "Manual only"
    if task.interval is not None:
        seconds = task.interval.every * _INTERVAL_PERIOD_SECONDS.get(task.interval.period, 0)
        if seconds % 3600 == 0:
            label = "Every hour" if seconds == 3600 else f"Every {seconds // 3600} hours"
        elif seconds % 60 == 0:
            label = "Every minute" if seconds == 60 else f"Every {seconds // 60} minutes"
        else:
            label = f"Every {seconds} seconds"
    elif task.crontab is not None:
        cron = task.crontab
        label = (
            f"Cron {cron.minute} {cron.hour} {cron.day_of_month} "
            f"{cron.month_of_year} {cron.day_of_week}"
        )
    else:
        label = "Custom schedule"
    return label if task.enabled else f"{label} (disabled)"


def connector_health_list(*, now: datetime | None = None) -> list[ConnectorHealth]:
    """Health of every pull connector, by name, in five queries whatever their number:
    connectors (with their last reconciled run), run stats over 7/30 days, the last
    RECENT_RUNS runs of each (from the last 30 days), the buckets of those reconciliations
    and the API reliability of each over RELIABILITY_DAYS.
    """
    now = now or timezone.now()
    since = {days: now - timedelta(days=days) for days in HEALTH_WINDOWS}
    oldest = since[max(HEALTH_WINDOWS)]

    reconciled = SyncRun.objects.filter(
        connector=OuterRef("pk"), reconciliation_matched_pct__isnull=False
    ).order_by("-created_at", "-id")
    connectors = list(
        _pull_connectors()
        .annotate(
            rec_run_id=Subquery(reconciled.values("pk")[:1]),
            rec_pct=Subquery(reconciled.values("reconciliation_matched_pct")[:1]),
            rec_at=Subquery(reconciled.values("finished_at")[:1]),
        )
        .order_by("name")
    )

    aggregates = {}
    for days, start in since.items():
        window = Q(created_at__gte=start)
        aggregates |= {
            f"counted_{days}": Count("pk", filter=window & Q(status__in=_COUNTED)),
            f"succeeded_{days}": Count("pk", filter=window & Q(status=SyncRun.Status.SUCCEEDED)),
            f"requests_{days}": Sum("requests", filter=window),
            f"request_failures_{days}": Sum("request_failures", filter=window),
            f"rows_read_{days}": Sum("rows_read", filter=window),
            f"rows_changed_{days}": Sum(
                F("rows_created") + F("rows_updated") + F("rows_deleted"), filter=window
            ),
        }
    stats = {
        row["connector_id"]: row
        for row in SyncRun.objects.filter(created_at__gte=oldest)
        .order_by()
        .values("connector_id")
        .annotate(**aggregates)
    }

    recent: dict[int, list[RunChip]] = {}
    runs = (
        SyncRun.objects.filter(created_at__gte=oldest)
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("connector_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(position__lte=RECENT_RUNS)
        .only("pk", "connector_id", "status", "trigger", "mode", "created_at", "message")
        .order_by("connector_id", "-created_at", "-id")
    )
    for run in runs:
        short, css = _RUN_CHIP.get(run.status, (run.status, ""))
        recent.setdefault(run.connector_id, []).append(
            RunChip(
                run_id=run.pk,
                status=run.status,
                status_label=run.get_status_display(),
                short_label=short,
                css=css,
                trigger_label=run.get_trigger_display(),
                mode_label=run.get_mode_display(),
                created_at=run.created_at,
                message=run.message,
            )
        )

    run_ids = [c.rec_run_id for c in connectors if c.rec_run_id is not None]
    buckets = {
        row["run_id"]: row
        for row in ReconciliationResult.objects.filter(run_id__in=run_ids)
        .order_by()
        .values("run_id")
        .annotate(total=Count("pk"), mismatched=Count("pk", filter=Q(matched=False)))
    }

    reliability = {row.connector_id: row for row in api_reliability_by_connector(now=now)}

    result = []
    for connector in connectors:
        row = stats.get(connector.pk, {})
        windows = {
            days: WindowStats(
                days=days,
                runs_counted=row.get(f"counted_{days}") or 0,
                runs_succeeded=row.get(f"succeeded_{days}") or 0,
                requests=row.get(f"requests_{days}") or 0,
                request_failures=row.get(f"request_failures_{days}") or 0,
                rows_read=row.get(f"rows_read_{days}") or 0,
                rows_changed=row.get(f"rows_changed_{days}") or 0,
            )
            for days in HEALTH_WINDOWS
        }
        bucket = buckets.get(connector.rec_run_id, {})
        result.append(
            ConnectorHealth(
                connector=connector,
                freshness=connector_freshness(connector, now=now),
                schedule=connector_schedule_label(connector),
                recent_runs=recent.get(connector.pk, []),
                windows=windows,
                reconciliation_run_id=connector.rec_run_id,
                # Through a subquery SQLite returns the value without its two decimals.
                reconciliation_pct=(
                    None if connector.rec_pct is None else Decimal(connector.rec_pct).quantize(CENT)
                ),
                reconciliation_at=connector.rec_at,
                reconciliation_buckets=bucket.get("total", 0),
                reconciliation_mismatched=bucket.get("mismatched", 0),
                reliability=reliability.get(connector.pk),
            )
        )
    return result
