"""Flag writes to records of locked months as post-close adjustments.

A locked month's records are still written (nothing a source sends is lost); each created,
updated or deleted row whose period date — the one it is written with, or the one stored
before — falls in a locked month gets one ``PostCloseAdjustment`` per locked month concerned,
in the write's transaction. An update moving a line out of a locked month is an adjustment
of that month: it leaves that month's figures.

Cost: one query for the locked months per batch (none for entities without a period); only
when a month is locked, one more before the upsert to read the stored period dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from records.locks import locked_months
from records.models import PostCloseAdjustment

from .entities import EntitySpec, FieldSpec, Row
from .upsert import CHUNK

if TYPE_CHECKING:
    from connectors.models import Connector

    from .services import Actor

SUMMARY_MAX = 300


def period_month(value: dt.date | dt.datetime | None) -> dt.date | None:
    """The month a period value belongs to; a date-time by its UTC date (as reconciliation
    counts it)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
    return value.replace(day=1)


def batch_locked_months(spec: EntitySpec) -> frozenset[dt.date]:
    """The locked months, when ``spec``'s records belong to months (else no query)."""
    if not spec.period_field:
        return frozenset()
    return frozenset(locked_months())


def _period_attr(spec: EntitySpec) -> str:
    return spec.field_map[spec.period_field].attr


def _amount_field(spec: EntitySpec) -> FieldSpec | None:
    """The money a summary shows: ``amount``, else the entity's first money field."""
    money = [f for f in spec.fields if f.kind == "money"]
    return spec.field_map.get("amount") or (money[0] if money else None)


def _summary_fields(spec: EntitySpec) -> list[FieldSpec]:
    """What a summary shows: the period, the amount, the currency (those the entity has)."""
    fields = [spec.field_map[spec.period_field], _amount_field(spec)]
    fields.append(spec.field_map.get("currency"))
    return [f for f in fields if f is not None]


def summary_attrs(spec: EntitySpec) -> list[str]:
    """The model attributes a deletion's summary reads (see :func:`_summary_fields`)."""
    return [f.attr for f in _summary_fields(spec)]


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime) and value.tzinfo:
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return "" if value is None else str(value)


def _summary(
    spec: EntitySpec,
    external_id: str,
    outcome: str,
    period: Any,
    old_period: Any,
    values: Mapping[str, Any],
) -> str:
    """E.g. "gl_lines GL-123 updated: posting_date 2026-09-30 -> 2026-10-02, amount 1200.00
    EUR" (the period's old value only when it changed)."""
    moved = old_period is not None and old_period != period
    parts = [
        f"{spec.period_field} {_text(old_period)} -> {_text(period)}"
        if moved
        else f"{spec.period_field} {_text(period)}"
    ]
    amount = _amount_field(spec)
    if amount is not None and values.get(amount.name) is not None:
        money = f"{amount.name} {_text(values[amount.name])}"
        if values.get("currency"):
            money += f" {values['currency']}"
        parts.append(money)
    text = f"{spec.name} {external_id} {outcome}: {', '.join(parts)}"
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


@dataclass(frozen=True)
class LockWatch:
    """What a write needs to flag its rows: the locked months and the stored period dates
    of its rows before the upsert (external_id -> value; live rows only: reviving a deleted
    record is like creating it)."""

    locked: frozenset[dt.date]
    before: dict[str, Any]


def lock_watch_start(
    *, spec: EntitySpec, source: Connector, rows: Sequence[Row]
) -> LockWatch | None:
    """Before the upsert: None when nothing can be flagged (no period, no rows, no lock)."""
    if not rows or not spec.period_field:
        return None
    locked = batch_locked_months(spec)
    if not locked:
        return None
    attr = _period_attr(spec)
    ids = [row["external_id"] for row in rows]
    before: dict[str, Any] = {}
    for start in range(0, len(ids), CHUNK):
        before.update(
            spec.model.objects.filter(
                source=source, external_id__in=ids[start : start + CHUNK]
            ).values_list("external_id", attr)
        )
    return LockWatch(locked=locked, before=before)


def adjustments_flag_writes(
    *,
    watch: LockWatch | None,
    spec: EntitySpec,
    source: Connector,
    rows: Iterable[Row],
    outcomes: Mapping[str, str],
    actor: Actor,
    batch_id: int | None,
    now: dt.datetime,
) -> int:
    """After the upsert: flag each created / updated row whose new or stored period falls in
    a locked month (unchanged rows were not written). Returns how many flags."""
    if watch is None:
        return 0
    flags: list[PostCloseAdjustment] = []
    for row in rows:
        ext = row["external_id"]
        outcome = outcomes.get(ext)
        if outcome not in ("created", "updated"):
            continue
        period = row.get(spec.period_field)
        old_period = watch.before.get(ext)
        months = {
            month
            for month in (period_month(period), period_month(old_period))
            if month is not None and month in watch.locked
        }
        if not months:
            continue
        summary = _summary(spec, ext, outcome, period, old_period, row)
        flags.extend(
            _flag(spec, source, ext, outcome, month, actor, batch_id, now, summary)
            for month in sorted(months)
        )
    PostCloseAdjustment.objects.bulk_create(flags)
    return len(flags)


def adjustments_flag_deletes(
    *,
    spec: EntitySpec,
    source_id: int,
    deleted: Mapping[str, Sequence[Any]],
    locked: frozenset[dt.date],
    actor: Actor,
    batch_id: int | None,
    now: dt.datetime,
) -> int:
    """Flag deleted rows of locked months. ``deleted``: external_id -> the values of
    ``summary_attrs(spec)`` read before the deletion. Returns how many flags."""
    if not locked or not spec.period_field:
        return 0
    names = [f.name for f in _summary_fields(spec)]
    flags: list[PostCloseAdjustment] = []
    for ext, values in deleted.items():
        row = dict(zip(names, values, strict=True))
        month = period_month(row[spec.period_field])
        if month is None or month not in locked:
            continue
        summary = _summary(spec, ext, "deleted", row[spec.period_field], None, row)
        flags.append(_flag(spec, source_id, ext, "deleted", month, actor, batch_id, now, summary))
    PostCloseAdjustment.objects.bulk_create(flags)
    return len(flags)


def _flag(
    spec: EntitySpec,
    source: Connector | int,
    external_id: str,
    outcome: str,
    month: dt.date,
    actor: Actor,
    batch_id: int | None,
    now: dt.datetime,
    summary: str,
) -> PostCloseAdjustment:
    source_id = source if isinstance(source, int) else source.pk
    return PostCloseAdjustment(
        month=month,
        entity=spec.name,
        source_id=source_id,
        external_id=external_id,
        outcome=outcome,
        via=actor.via,
        user=actor.user,
        batch_id=batch_id,
        recorded_at=now,
        summary=summary,
    )
