"""Forecasts of the fiscal year's actuals and budget variance per series (account x department),
department x account type, account type and company operating income, with the backtested
prediction accuracy (docs/metrics.md, "Forecasts and prediction accuracy").

A series is an (account, department) pair with a budget line in the chosen (default: current)
version of the fiscal year. Its history runs from its first month with ledger lines (at most
60 months back) to the last closed month, the forecast origin; amounts are converted into the
reporting currency like the budget report does. For the backtest each line counts from its
arrival (when it was stored, if after its source's initial load), so a forecast made at an
earlier origin sees the ledger as it stood then.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.utils import timezone

from finhub.core.calendar import add_months, last_closed_month, month_end
from finhub.core.money import round_half_up
from metrics import selectors
from metrics.computations.backtest import month_index
from metrics.computations.forecasting import (
    MODEL_LABELS,
    MODELS,
    Path,
    Plan,
    Series,
    SeriesRun,
    add_paths,
    direction_accuracy,
    forecast_all,
    outturn,
    outturn_error,
    wape_accuracy,
)
from metrics.computations.presentation import ratio
from metrics.computations.variance import PROFIT
from metrics.reports.budget import NO_LABEL, UNCLASSIFIED, UNCLASSIFIED_LABEL, variance_type
from metrics.reports.budget import favourable as is_favourable
from metrics.reports.numbers import UNDEFINED, money
from records import models as m

HISTORY_MONTHS = 60
WINDOW_MONTHS = 12
HORIZONS = (1, 3, 6)
OPERATING_INCOME = "operating_income"
#: Operating income = revenue - cost of sales - expense.
OPERATING_SIGNS = {
    m.Account.Type.REVENUE: 1,
    m.Account.Type.COST_OF_SALES: -1,
    m.Account.Type.EXPENSE: -1,
}
TYPE_LABELS = {**dict(m.Account.Type.choices), UNCLASSIFIED: UNCLASSIFIED_LABEL}
ZERO = Decimal(0)


def forecast_report(
    *,
    fiscal_year: int,
    budget: int | None = None,
    today: dt.date | None = None,
    processes: int = 1,
) -> dict:
    """The forecast of ``fiscal_year`` made at the end of the last closed month before
    ``today`` (default the local date), and the backtest over the 12 months up to it."""
    origin = last_closed_month(today or timezone.localdate())
    year_months = [dt.date(fiscal_year, month, 1) for month in range(1, 13)]
    window_start = add_months(origin, -(WINDOW_MONTHS - 1))
    history_start = add_months(origin, -(HISTORY_MONTHS - 1))
    budget_start = min(window_start, year_months[0])
    budget_end = max(month_end(year_months[-1]), month_end(origin))
    versions = selectors.budget_versions(start=budget_start, end=budget_end, budget_id=budget)
    convert = selectors.converter(start=history_start, end=budget_end)

    # Budget per series and month; a series is a pair budgeted in the fiscal year.
    labels: dict[tuple, tuple] = {}
    budgets: dict[tuple, dict[dt.date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for dept, dept_name, code, name, kind, currency, month, total in selectors.budget_totals(
        start=budget_start, end=budget_end, group_by="department_account", budget_ids=versions
    ):
        value = convert(total, currency, month)
        if value is not None:
            key = (dept or "", code or "", kind or UNCLASSIFIED)
            labels[key] = (dept_name, name)
            budgets[key][month] += value
    keys = sorted(
        k for k, months in budgets.items() if any(mo.year == fiscal_year for mo in months)
    )

    # Ledger amounts per series, month and arrival month.
    entries: dict[tuple, dict[tuple, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    ledger = selectors.ledger_totals_by_arrival(
        start=history_start,
        end=month_end(origin),
        initial_load=selectors.gl_initial_load_days(),
    )
    wanted = set(keys)
    for dept, _dept_name, code, _name, kind, currency, day, arrival, total in ledger:
        key = (dept or "", code or "", kind or UNCLASSIFIED)
        if key not in wanted:
            continue
        value = convert(total, currency, day)
        if value is not None:
            entries[key][day.replace(day=1), arrival] += value

    series = []
    for key in keys:
        amounts = entries.get(key, {})
        first = min((month for month, _ in amounts), default=add_months(origin, 1))
        series.append(
            Series(
                key=_series_key(key),
                group=key[2],
                first_month=first,
                entries=tuple(
                    (month, arrival, value)
                    for (month, arrival), value in sorted(amounts.items(), key=_entry_order)
                ),
                budget=dict(budgets[key]),
            )
        )
    outturn_year = origin.year if origin.month == 12 else origin.year - 1
    plan = Plan(
        origin=origin,
        horizon_end=max(year_months[-1], origin),
        window=WINDOW_MONTHS,
        horizons=HORIZONS,
        outturn_year=outturn_year,
    )
    runs = forecast_all(series, plan, processes=processes)

    builder = _Builder(origin=origin, year_months=year_months)
    rows = [(key, labels[key], one, run) for key, one, run in zip(keys, series, runs, strict=True)]
    groups = [builder.series_group(*row) for row in rows]
    groups += builder.totals(rows)
    return {
        "fiscal_year": fiscal_year,
        "origin": origin.isoformat(),
        "reporting_currency": selectors.reporting_currency(),
        "budget_versions": versions,
        "months": [month.isoformat() for month in year_months],
        "groups": groups,
        "accuracy": _accuracy(series, runs, plan),
        "series_count": len(series),
        "missing_fx": convert.missing,
    }


def model_mix(accuracy: dict) -> list[tuple[str, int]]:
    """(model, series choosing it), most chosen first, ties richest model first: a stored
    report's JSON (jsonb on PostgreSQL) does not keep the key order, so it is decided here."""
    mix = accuracy.get("model_mix", {})
    order = {model: index for index, model in enumerate(reversed(MODELS))}
    return sorted(
        ((model, count) for model, count in mix.items() if count),
        key=lambda item: (-item[1], order.get(item[0], len(order)), item[0]),
    )


def _entry_order(item: tuple) -> tuple:
    (month, arrival), _ = item
    return (month, arrival or dt.date.min)


def _series_key(key: tuple) -> str:
    return f"{key[0]}|{key[1]}"


class _Builder:
    """Turns runs into report groups: the fiscal year's months (actual when closed, forecast
    and intervals after the origin), the outturn and the predicted variance."""

    def __init__(self, *, origin: dt.date, year_months: list[dt.date]):
        self.origin = origin
        self.year_months = year_months
        self.open_months = [month for month in year_months if month > origin]

    def actuals(self, one: Series, run: SeriesRun) -> dict[dt.date, Decimal]:
        first = month_index(one.first_month)
        return {
            month: run.history[month_index(month) - first]
            if 0 <= month_index(month) - first < len(run.history)
            else ZERO
            for month in self.year_months
            if month <= self.origin
        }

    def step(self, month: dt.date) -> int:
        return month_index(month) - month_index(self.origin) - 1

    def series_group(self, key: tuple, label: tuple, one: Series, run: SeriesRun) -> dict:
        dept, code, kind = key
        dept_name, name = label
        return {
            "level": "series",
            "key": _series_key(key),
            "label": f"{code} {name}".strip() if name else (code or UNCLASSIFIED_LABEL),
            "department": dept,
            "department_label": dept_name or NO_LABEL["department"],
            "account": code,
            "account_label": name or "",
            "account_type": kind,
            "model": run.model,
            "model_label": run.path.label,
            "fallback": run.fallback,
            **self.figures(
                actual=self.actuals(one, run),
                budget=one.budget,
                path=run.path,
                measure=variance_type(kind),
            ),
        }

    def figures(
        self, *, actual: dict[dt.date, Decimal], budget: dict, path: Path, measure: str
    ) -> dict:
        months = []
        for month in self.year_months:
            row: dict = {
                "month": month.isoformat(),
                "closed": month <= self.origin,
                "actual": money(actual.get(month, ZERO)) if month <= self.origin else None,
                "budget": money(budget.get(month, ZERO)),
                "forecast": None,
                **dict.fromkeys(("lower80", "upper80", "lower95", "upper95")),
            }
            if month > self.origin:
                step = self.step(month)
                row["forecast"] = money(path.points[step])
                for bound in ("lower80", "upper80", "lower95", "upper95"):
                    row[bound] = money(getattr(path, bound)[step])
            months.append(row)
        full_budget = sum((budget.get(month, ZERO) for month in self.year_months), ZERO)
        steps = [self.step(month) for month in self.open_months]
        result = outturn(
            known=sum(actual.values(), ZERO),
            points=[path.points[s] for s in steps],
            sigmas=[path.sigmas[s] for s in steps],
            budget=full_budget,
        )
        variance = result.predicted - full_budget
        variance_pct = ratio(variance, abs(full_budget))
        return {
            "months": months,
            "full_year_budget": money(full_budget),
            "predicted_outturn": money(result.predicted),
            "outturn_lower80": money(result.lower80),
            "outturn_upper80": money(result.upper80),
            "outturn_lower95": money(result.lower95),
            "outturn_upper95": money(result.upper95),
            "predicted_variance": money(variance),
            "predicted_variance_pct": _percent(
                variance_pct * 100 if variance_pct is not None else None
            ),
            "favourable": is_favourable(variance, measure),
            "probability_over_budget": str(result.probability_over_budget),
        }

    def total(
        self,
        *,
        level: str,
        key: str,
        label: str,
        parts: Sequence[tuple[int, Series, SeriesRun]],
        dept: tuple[str, str] = ("", ""),
        kind: str = "",
        measure: str,
    ) -> dict:
        actual: dict[dt.date, Decimal] = defaultdict(Decimal)
        budget: dict[dt.date, Decimal] = defaultdict(Decimal)
        for sign, one, run in parts:
            for month, value in self.actuals(one, run).items():
                actual[month] += sign * value
            for month in self.year_months:
                budget[month] += sign * one.budget.get(month, ZERO)
        steps = self.step(self.year_months[-1]) + 1 if self.open_months else 0
        path = add_paths(((sign, run.path) for sign, _, run in parts), steps)
        return {
            "level": level,
            "key": key,
            "label": label,
            "department": dept[0],
            "department_label": dept[1],
            "account": "",
            "account_label": "",
            "account_type": kind,
            "model": "",
            "model_label": "",
            "fallback": "",
            **self.figures(actual=dict(actual), budget=budget, path=path, measure=measure),
        }

    def totals(self, rows: Sequence[tuple[tuple, tuple, Series, SeriesRun]]) -> list[dict]:
        """Department x account type, account type (company) and operating income, bottom-up
        from the series."""
        by_dept: dict[tuple, list] = defaultdict(list)
        by_type: dict[str, list] = defaultdict(list)
        dept_labels: dict[str, str] = {}
        for key, label, one, run in rows:
            by_dept[key[0], key[2]].append((1, one, run))
            by_type[key[2]].append((1, one, run))
            dept_labels[key[0]] = label[0] or NO_LABEL["department"]
        groups = []
        for (dept, kind), parts in sorted(by_dept.items()):
            groups.append(
                self.total(
                    level="department",
                    key=f"{dept}|{kind}",
                    label=f"{dept_labels[dept]} \u2013 {TYPE_LABELS.get(kind, kind)}",
                    parts=parts,
                    dept=(dept, dept_labels[dept]),
                    kind=kind,
                    measure=variance_type(kind),
                )
            )
        for kind, parts in sorted(by_type.items()):
            groups.append(
                self.total(
                    level="account_type",
                    key=kind,
                    label=TYPE_LABELS.get(kind, kind),
                    parts=parts,
                    kind=kind,
                    measure=variance_type(kind),
                )
            )
        operating = [
            (sign, one, run)
            for kind, sign in OPERATING_SIGNS.items()
            for _, one, run in by_type.get(kind, [])
        ]
        groups.append(
            self.total(
                level="company",
                key=OPERATING_INCOME,
                label="Operating income",
                parts=operating,
                measure=PROFIT,
            )
        )
        return groups


def _percent(value: Decimal | None) -> str:
    return UNDEFINED if value is None else str(round_half_up(value, 2))


def _accuracy(series: Sequence[Series], runs: Sequence[SeriesRun], plan: Plan) -> dict:
    """Prediction accuracy (WAPE) and direction accuracy per horizon, overall (the model
    chosen per series), per model and per account type; the full-year outturn error per
    origin month of the last complete year; the model mix and the scorecard figure."""
    budgets = {one.key: one.budget for one in series}

    def measures(pairs: Iterable[tuple[str, list]]) -> dict:
        collected = [(key, point) for key, points in pairs for point in points]
        return {
            "accuracy_percent": _percent(wape_accuracy((a, p) for _, (_, a, p) in collected)),
            "direction_accuracy_percent": _percent(
                direction_accuracy(
                    (a, p, budgets[key].get(month, ZERO)) for key, (month, a, p) in collected
                )
            ),
            "points": len(collected),
        }

    def chosen(h: int, group: str | None = None) -> Iterable[tuple[str, list]]:
        return (
            (run.key, run.points.get((run.model, h), []))
            for run in runs
            if group is None or run.group == group
        )

    overall = [{"horizon": h, **measures(chosen(h))} for h in plan.horizons]
    by_model = [
        {
            "model": model,
            "model_label": MODEL_LABELS[model],
            "horizon": h,
            **measures((run.key, run.points[model, h]) for run in runs if (model, h) in run.points),
        }
        for model in MODELS
        for h in plan.horizons
    ]
    by_group = [
        {
            "group": group,
            "label": TYPE_LABELS.get(group, group),
            "horizon": h,
            **measures(chosen(h, group)),
        }
        for group in sorted({run.group for run in runs})
        for h in plan.horizons
    ]
    origins: dict[dt.date, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for run in runs:
        for origin, predicted, actual in run.outturn:
            origins[origin].append((predicted, actual))
    window = plan.window_months
    return {
        "window": [window[0].isoformat(), window[-1].isoformat()],
        "horizons": list(plan.horizons),
        "overall": overall,
        "by_model": by_model,
        "by_group": by_group,
        "outturn_error": [
            {"origin": origin.isoformat(), "error_percent": _percent(outturn_error(rows))}
            for origin, rows in sorted(origins.items())
        ],
        "model_mix": {model: Counter(run.model for run in runs)[model] for model in MODELS},
        "scorecard_accuracy_percent": overall[0]["accuracy_percent"] if overall else UNDEFINED,
    }
