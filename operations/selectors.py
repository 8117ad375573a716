"""Reads of the operations app: response times per endpoint from the stored histograms."""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from operations.histograms import Histogram
from operations.models import RequestTiming

#: The periods the operations page offers: query value -> (hours, label).
PERIODS: dict[str, tuple[int, str]] = {
    "1h": (1, "Last hour"),
    "24h": (24, "Last 24 hours"),
    "7d": (24 * 7, "Last 7 days"),
}
DEFAULT_PERIOD = "24h"
#: The scorecard's response time: p95 of the financial data queries over this many hours.
RESPONSE_TIME_METRIC = "financial_query_response_time"
RESPONSE_TIME_HOURS = 24

_MS = Decimal("0.001")


@dataclass(frozen=True)
class ResponseTimeRow:
    endpoint: str  # route name ("dashboards:executive") or pattern; "all financial" overall
    method: str
    financial: bool  # any of its requests was a financial data query
    requests: int
    errors: int  # 5xx responses
    error_rate: Decimal  # errors / requests, in percent with 2 decimals
    mean: Decimal  # seconds, 3 decimals, like the quantiles
    p50: Decimal
    p95: Decimal
    p99: Decimal


def hour_start(moment: datetime.datetime) -> datetime.datetime:
    """The start of the UTC clock hour ``moment`` falls in (timings are kept per hour)."""
    return moment.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)


def _seconds(ms: float | None) -> Decimal:
    return (Decimal(repr(ms or 0.0)) / 1000).quantize(_MS, rounding=ROUND_HALF_UP)


def _row(*, endpoint: str, method: str, financial: bool, errors: int, h: Histogram):
    rate = (Decimal(errors) * 100 / h.count).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return ResponseTimeRow(
        endpoint=endpoint,
        method=method,
        financial=financial,
        requests=h.count,
        errors=errors,
        error_rate=rate,
        mean=_seconds(h.total_ms / h.count),
        p50=_seconds(h.quantile(0.50)),
        p95=_seconds(h.quantile(0.95)),
        p99=_seconds(h.quantile(0.99)),
    )


def _timings(*, hours: int, financial_only: bool, now: datetime.datetime | None):
    """The stored rows of the window: the clock hours overlapping the last ``hours`` hours
    (so at most one hour more than asked, never less)."""
    if hours < 1:
        raise ValueError(f"hours must be at least 1, not {hours}")
    now = now or timezone.now()
    rows = RequestTiming.objects.filter(
        hour__gte=hour_start(now - datetime.timedelta(hours=hours)), hour__lte=now
    )
    if financial_only:
        rows = rows.filter(financial=True)
    return rows.values_list(
        "endpoint", "method", "financial", "count", "errors", "total_ms", "max_ms", "buckets"
    )


def response_time_summary(
    *, hours: int = 24, financial_only: bool = False, now: datetime.datetime | None = None
) -> list[ResponseTimeRow]:
    """Requests, 5xx errors and p50/p95/p99 (seconds) per endpoint and method over the last
    ``hours`` hours, every process and hour merged; slowest p95 first. One query."""
    merged: dict[tuple[str, str], tuple[Histogram, list[int], list[bool]]] = {}
    for endpoint, method, financial, count, errors, total_ms, max_ms, buckets in _timings(
        hours=hours, financial_only=financial_only, now=now
    ):
        h, errs, fin = merged.setdefault((endpoint, method), (Histogram(), [0], [False]))
        h.merge(
            Histogram.from_stored(buckets=buckets, count=count, total_ms=total_ms, max_ms=max_ms)
        )
        errs[0] += errors
        fin[0] = fin[0] or financial
    rows = [
        _row(endpoint=endpoint, method=method, financial=fin[0], errors=errs[0], h=h)
        for (endpoint, method), (h, errs, fin) in merged.items()
        if h.count
    ]
    rows.sort(key=lambda r: (-r.p95, -r.requests, r.endpoint, r.method))
    return rows


def financial_response_time(
    *, hours: int = 24, now: datetime.datetime | None = None
) -> ResponseTimeRow | None:
    """Every financial data query of the last ``hours`` hours as one histogram: the
    scorecard's response time is its p95. None when there were none. One query."""
    h, errors = Histogram(), 0
    for _, _, _, count, errs, total_ms, max_ms, buckets in _timings(
        hours=hours, financial_only=True, now=now
    ):
        h.merge(
            Histogram.from_stored(buckets=buckets, count=count, total_ms=total_ms, max_ms=max_ms)
        )
        errors += errs
    if not h.count:
        return None
    return _row(endpoint="all financial queries", method="", financial=True, errors=errors, h=h)


@dataclass(frozen=True)
class ResponseTimeTarget:
    """The scorecard's response-time metric as the page shows it (None fields: the programme
    is not loaded, or nothing was measured)."""

    current: ResponseTimeRow | None  # last 24 h, computed now from the stored timings
    target_text: str  # "≤ 2 s"
    met: bool | None
    last_pushed_value: Decimal | None
    last_pushed_at: datetime.datetime | None


def response_time_target(*, now: datetime.datetime | None = None) -> ResponseTimeTarget:
    """The financial p95 of the last 24 hours (computed now) beside the success metric's
    target and its last measurement on the scorecard (three queries)."""
    from roadmap.selectors import metric_latest_measurements, metric_list, metric_target_text

    key = RESPONSE_TIME_METRIC
    current = financial_response_time(hours=RESPONSE_TIME_HOURS, now=now)
    metric = metric_list().filter(key=key).first()
    latest = metric_latest_measurements(keys=[key]).get(key, {})
    return ResponseTimeTarget(
        current=current,
        target_text=metric_target_text(metric) if metric else "",
        met=metric.is_met(current.p95) if metric and current else None,
        last_pushed_value=latest.get("value"),
        last_pushed_at=latest.get("measured_at"),
    )
