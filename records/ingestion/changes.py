"""Announce which months each write changed (``records.signals.records_changed``), so the
metrics engine recomputes only the reports those months feed.

A record with a period (``EntitySpec.period_field``: ledger lines, deals, touchpoints…)
changes the months of every date it has, as stored before the write and as written: a line
moved from March to April changes both. A date-time counts by its UTC date and the days
either side, so any configured time zone's local month is covered. A record without a
period (a customer, an account, a campaign…) changes every month (``months=None``).

Cost: none for unchanged rows; for rows with a period, one read of the stored dates per
5,000 rows before the upsert (only those that exist, by their natural key).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from records.signals import records_changed

from .entities import EntitySpec, Row, referrers
from .upsert import CHUNK

if TYPE_CHECKING:
    from connectors.models import Connector
    from records.models.base import SourcedRecord

DAY = dt.timedelta(days=1)


def months_of(value: dt.date | dt.datetime | None) -> set[dt.date]:
    """The months a date belongs to: its own; a date-time's UTC date's and its neighbours'."""
    if value is None:
        return set()
    if isinstance(value, dt.datetime):
        day = value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
        return {(day + shift).replace(day=1) for shift in (-DAY, dt.timedelta(0), DAY)}
    return {value.replace(day=1)}


#: Entities whose records belong to the months of their dates without a period of their own
#: (a day's FX rate converts only that day's amounts).
DATED_WITHOUT_PERIOD = frozenset({"fx_rates"})


def dated(spec: EntitySpec) -> bool:
    """Whether ``spec``'s records belong to months (else a change concerns every month)."""
    return bool(spec.period_field) or spec.name in DATED_WITHOUT_PERIOD


def date_fields(spec: EntitySpec) -> list[tuple[str, str]]:
    """(field name in a row, model attribute) of every date the records have."""
    return [(f.name, f.attr) for f in spec.fields if f.kind in ("date", "datetime")]


def date_attrs(spec: EntitySpec) -> list[str]:
    return [attr for _name, attr in date_fields(spec)]


def changes_announce(model: type[SourcedRecord], months: Iterable[dt.date] | None) -> None:
    """Tell the listeners that ``model``'s rows of ``months`` (None: of every month) changed."""
    chosen = None if months is None else frozenset(months)
    if chosen is not None and not chosen:
        return
    records_changed.send(sender=model, months=chosen)


def stored_dates(
    *, spec: EntitySpec, source: Connector, rows: Sequence[Row]
) -> dict[str, tuple[Any, ...]] | None:
    """Before the upsert: external_id -> the stored dates of the rows about to be written
    (None when ``spec`` has no period: nothing to read)."""
    if not rows or not dated(spec):
        return None
    attrs = date_attrs(spec)
    ids = [row["external_id"] for row in rows]
    before: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(ids), CHUNK):
        for ext, *values in spec.model.all_objects.filter(
            source=source, external_id__in=ids[start : start + CHUNK]
        ).values_list("external_id", *attrs):
            before[ext] = tuple(values)
    return before


def changes_announce_writes(
    *,
    spec: EntitySpec,
    rows: Iterable[Row],
    outcomes: Mapping[str, str],
    before: Mapping[str, tuple[Any, ...]] | None,
    forced: bool = False,
) -> None:
    """After the upsert: announce the months of the created and updated rows (old and new
    dates). ``forced``: something else of the table changed too (every month)."""
    written = [row for row in rows if outcomes.get(row["external_id"]) in ("created", "updated")]
    if forced or (written and not dated(spec)):
        changes_announce(spec.model, None)
        return
    if not written:
        return
    names = [name for name, _attr in date_fields(spec)]
    months: set[dt.date] = set()
    for row in written:
        for name in names:
            months |= months_of(row.get(name))
        for value in (before or {}).get(row["external_id"], ()):
            months |= months_of(value)
    changes_announce(spec.model, months)


def changes_announce_deletes(
    *, spec: EntitySpec, dates: Iterable[Sequence[Any]] | None, cascades: bool = False
) -> None:
    """Announce deleted rows: ``dates`` their values of ``date_attrs(spec)`` read before the
    deletion (None: not read, every month). ``cascades``: a hard deletion, which also clears
    or deletes the rows referring to them (every month of those tables)."""
    if dates is None or not dated(spec):
        changes_announce(spec.model, None)
    else:
        months: set[dt.date] = set()
        for values in dates:
            for value in values:
                months |= months_of(value)
        changes_announce(spec.model, months)
    if cascades:
        for referring, _field in referrers(spec.name):
            changes_announce(referring.model, None)
