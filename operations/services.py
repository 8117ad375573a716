"""Writes of the operations app: storing request timings, pushing the response time to the
scorecard, pruning old timings."""

import datetime
import logging

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from operations.histograms import Histogram
from operations.models import RequestTiming
from operations.recorder import RECORDER, SECONDS_PER_HOUR, Tally, TimingKey, TimingRecorder
from operations.selectors import (
    RESPONSE_TIME_HOURS,
    RESPONSE_TIME_METRIC,
    financial_response_time,
)

logger = logging.getLogger(__name__)

RESPONSE_TIME_SOURCE = "auto:operations.timing"
# Two processes creating the same new row: the loser's insert fails and it retries, finding
# (and locking) the winner's row. More attempts than that means something else is wrong.
_FLUSH_ATTEMPTS = 3


def _hour(key: TimingKey) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(key.hour * SECONDS_PER_HOUR, tz=datetime.UTC)


def _add_to_rows(pending: dict[TimingKey, Tally]) -> None:
    """Add the tallies to their rows in one transaction: lock the rows that exist, add to
    them, create the others (a concurrent creator makes the insert fail: the caller retries)."""
    hours = {_hour(key) for key in pending}
    endpoints = {key.endpoint for key in pending}
    with transaction.atomic():
        # select_for_update: two processes flushing the same row add in turn (PostgreSQL);
        # SQLite's IMMEDIATE transactions already run one writer at a time.
        existing = {
            (row.endpoint, row.method, row.financial, row.hour): row
            for row in RequestTiming.objects.select_for_update().filter(
                hour__in=hours, endpoint__in=endpoints
            )
        }
        changed, created = [], []
        for key, tally in pending.items():
            row = existing.get((key.endpoint, key.method, key.financial, _hour(key)))
            if row is None:
                histogram = tally.histogram
                row = RequestTiming(
                    endpoint=key.endpoint,
                    method=key.method,
                    financial=key.financial,
                    hour=_hour(key),
                    errors=tally.errors,
                )
                created.append(row)
            else:
                histogram = Histogram.from_stored(
                    buckets=row.buckets, count=row.count, total_ms=row.total_ms, max_ms=row.max_ms
                )
                histogram.merge(tally.histogram)
                row.errors += tally.errors
                changed.append(row)
            row.count = histogram.count
            row.total_ms = histogram.total_ms
            row.max_ms = histogram.max_ms
            row.buckets = histogram.to_json()
            row.updated_at = timezone.now()
        if changed:
            RequestTiming.objects.bulk_update(
                changed, ["count", "errors", "total_ms", "max_ms", "buckets", "updated_at"]
            )
        if created:
            RequestTiming.objects.bulk_create(created)


def request_timings_flush(*, recorder: TimingRecorder = RECORDER) -> int:
    """Store what the process recorded since its last flush; returns the requests stored.

    A database failure loses nothing: the tallies go back to the recorder for the next flush
    and a warning is logged (a request that triggered the flush is never failed by it).
    """
    pending = recorder.take()
    if not pending:
        return 0
    requests = sum(tally.histogram.count for tally in pending.values())
    try:
        for attempt in range(1, _FLUSH_ATTEMPTS + 1):
            try:
                _add_to_rows(pending)
                break
            except IntegrityError:
                if attempt == _FLUSH_ATTEMPTS:
                    raise
    except DatabaseError as exc:
        recorder.put_back(pending)
        logger.warning(
            "request timings not stored (%d requests kept for the next flush): %s",
            requests,
            exc,
        )
        return 0
    except BaseException:
        recorder.put_back(pending)
        raise
    return requests


def request_timings_prune(*, now: datetime.datetime | None = None) -> int:
    """Delete timings older than FINHUB_TIMING_RETENTION_DAYS; returns the rows deleted."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.FINHUB_TIMING_RETENTION_DAYS)
    deleted, _ = RequestTiming.objects.filter(hour__lt=cutoff).delete()
    return deleted


def response_time_push(*, now: datetime.datetime | None = None) -> bool:
    """Push the scorecard's response time: the p95 in seconds of the financial data queries
    of the last 24 hours, one measurement per hour (its period). Nothing when there were no
    such queries, or when the programme (its success metrics) is not loaded."""
    from roadmap.services import MeasurementError, measurement_record

    now = now or timezone.now()
    summary = financial_response_time(hours=RESPONSE_TIME_HOURS, now=now)
    if summary is None:
        return False
    period = timezone.localtime(now).strftime("%Y-%m-%dT%H:00")
    try:
        measurement_record(
            metric_key=RESPONSE_TIME_METRIC,
            value=summary.p95,
            measured_at=now,
            source=RESPONSE_TIME_SOURCE,
            period=period,
            note=f"p95 of {summary.requests} requests over {RESPONSE_TIME_HOURS} h",
        )
    except MeasurementError as exc:
        logger.warning("measurement %s not recorded: %s", RESPONSE_TIME_METRIC, exc)
        return False
    return True
