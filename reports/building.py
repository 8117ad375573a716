"""Report parameters and building: validate a report's parameters the way the dashboards
do (the same parsing, the same messages) and run its definition (reports/definitions.py).

A bad parameter raises :class:`ReportParamError` whose message names the parameter and says
why, exactly as the dashboard page would answer it (400) for the same value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.utils import timezone

from dashboards.charts import Chart
from dashboards.filters import FilterError, filters_from_params
from dashboards.freshness import Freshness, sources_freshness
from dashboards.page import DashboardParamError, DashboardRequest
from dashboards.pages.marketing import MODEL_LABELS, chosen_model
from dashboards.period import PeriodError, period_from_params
from dashboards.tables import Table
from finhub.core.calendar import KINDS, MONTH, Period, last_closed_month, month_period
from metrics import selectors
from metrics.params import MAX_PERIOD_DAYS
from records.models import Budget
from reports.definitions import (
    FILTER_PARAMETERS,
    PARAMETER_LABELS,
    PARAMETERS,
    REPORTS,
    ReportDefinition,
    ReportRequest,
)


def period_as_dict(period: Period) -> dict[str, str]:
    """A period as archived with a file (JSON): kind, start, end and its label."""
    return {
        "kind": period.kind,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "label": period.label,
    }


class ReportParamError(ValueError):
    """An invalid report parameter; the message names the parameter and why."""


@dataclass(frozen=True)
class ReportParams:
    """A report's validated parameters: the period and the values of the definition's
    parameters (raw URL values: record ids, a segment's name, a model key)."""

    period: Period
    values: dict[str, str]
    #: Each value as shown ("Department: Sales"), filled by validation.
    labels: dict[str, str] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict:
        """JSON-able; :func:`report_params_from_dict` reads it back."""
        return {"period": period_as_dict(self.period), "values": dict(self.values)}

    def described(self) -> list[tuple[str, str]]:
        """(parameter label, value label) of the period and every given parameter."""
        return [("Period", self.period.label)] + [
            (PARAMETER_LABELS[name], self.labels.get(name, value))
            for name, value in self.values.items()
        ]


@dataclass
class BuiltReport:
    key: str
    title: str
    params: ReportParams
    #: Every table in reading order, the charts' tables included.
    tables: list[Table]
    charts: list[Chart]
    notes: list[str]
    #: When the figures were computed (the oldest snapshot read); None for live data.
    computed_at: dt.datetime | None
    freshness: Freshness
    description: str = ""


def report_definition(key: str) -> ReportDefinition:
    try:
        return REPORTS[key]
    except KeyError:
        raise ReportParamError(f"report: {key!r} is not one of {', '.join(REPORTS)}.") from None


def _model_check(value: str, period: Period) -> str:
    # The marketing page's own check (same message); it only reads the page parameter.
    stub = DashboardRequest(None, period, None, period.end, "", {"model": value})  # type: ignore[arg-type]
    try:
        return chosen_model(stub)
    except DashboardParamError as exc:
        raise ReportParamError(str(exc)) from None


def _budget_label(value: str) -> str:
    if not value.isdigit():
        raise ReportParamError(f"budget: {value!r} is not a budget (version) id.")
    budget = Budget.objects.filter(pk=int(value)).values("name", "fiscal_year", "version").first()
    if budget is None:
        raise ReportParamError(f"budget: no budget (version) has id {value}.")
    return f"{budget['name']} (FY{budget['fiscal_year']}, version {budget['version']})"


def _validated(definition: ReportDefinition, period: Period, query: Mapping) -> ReportParams:
    values: dict[str, str] = {}
    labels: dict[str, str] = {}
    for name in PARAMETERS:
        raw = str(query.get(name, "") or "").strip()
        if not raw:
            continue
        if name not in definition.parameters:
            takes = ", ".join(definition.parameters) or "only the period"
            raise ReportParamError(
                f"{name}: the report {definition.title!r} takes no {name} (it takes {takes})."
            )
        if name in FILTER_PARAMETERS:
            try:
                selected = filters_from_params({name: raw}, [name]).selected(name)
            except FilterError as exc:
                raise ReportParamError(str(exc)) from None
            assert selected is not None
            values[name], labels[name] = selected.value, selected.label
        elif name == "model":
            values[name] = _model_check(raw, period)
            labels[name] = MODEL_LABELS[values[name]]
        elif name == "budget":
            labels[name] = _budget_label(raw)
            values[name] = str(int(raw))
    return ReportParams(period, values, labels)


def report_params_from_query(*, key: str, query: Mapping[str, str], today: dt.date) -> ReportParams:
    """The parameters of report ``key`` from URL/form parameters: the period as the
    dashboards' period picker writes it (default: the last month ended before ``today``)
    and the definition's parameters (ids as the dashboards' filters take them)."""
    definition = report_definition(key)
    try:
        if str(query.get("period", "") or "").strip():
            period = period_from_params(query, default=MONTH, today=today)
        else:
            period = month_period(last_closed_month(today))
    except PeriodError as exc:
        raise ReportParamError(str(exc)) from None
    return _validated(definition, period, query)


def report_params_from_dict(*, key: str, data: dict) -> ReportParams:
    """The inverse of :meth:`ReportParams.as_dict` (the values are validated again: a
    record may have gone since)."""
    definition = report_definition(key)
    raw = data.get("period") or {}
    try:
        kind = raw["kind"]
        start, end = dt.date.fromisoformat(raw["start"]), dt.date.fromisoformat(raw["end"])
    except (KeyError, TypeError, ValueError):
        raise ReportParamError(
            "period: expected kind, start and end (YYYY-MM-DD) of the period."
        ) from None
    if kind not in KINDS:
        raise ReportParamError(f"period: {kind!r} is not one of {', '.join(KINDS)}.")
    if end < start:
        raise ReportParamError("period: the end must not be before the start.")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ReportParamError(f"period: may span at most {MAX_PERIOD_DAYS} days (10 years).")
    values = data.get("values") or {}
    if not isinstance(values, dict):
        raise ReportParamError("values: expected a mapping of parameter names to values.")
    return _validated(definition, Period(kind, start, end), values)


def report_params_for(*, key: str, period: Period, values: Mapping) -> ReportParams:
    """Report ``key``'s parameters for ``period`` from stored ``values`` (a pack item's),
    validated again: a record they name may have gone since."""
    return _validated(report_definition(key), period, values)


def report_build(*, key: str, params: ReportParams, user) -> BuiltReport:
    """Build report ``key`` for ``params`` as ``user`` (None: a scheduled run, anonymous to
    the builders). A parameter a page rejects raises :class:`ReportParamError`."""
    definition = report_definition(key)
    request = ReportRequest(
        period=params.period,
        values={k: v for k, v in params.values.items() if k in definition.parameters},
        user=user,
        today=timezone.localdate(),
        currency=selectors.reporting_currency(),
    )
    try:
        content = definition.build(request)
    except (PeriodError, FilterError, DashboardParamError) as exc:
        raise ReportParamError(str(exc)) from None
    return BuiltReport(
        key=definition.key,
        title=definition.title,
        params=params,
        tables=content.tables,
        charts=content.charts,
        notes=content.notes,
        computed_at=content.computed_at,
        freshness=sources_freshness(),
        description=definition.description,
    )
