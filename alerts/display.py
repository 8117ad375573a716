"""How the Alerts page shows a rule's figures: the unit of each metric, values as text, the
chart of an instance's latest evaluations with its thresholds (drawn by the dashboards'
script, js/dashboards.js, from the same JSON shape) and the dashboard figure a rule watches."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode

from alerts.models import AlertInstance, AlertRule
from finhub.core.money import round_half_up

Metric = AlertRule.Metric
Scope = AlertRule.Scope

MONEY = "money"
PERCENT = "percent"
RATIO = "ratio"
INT = "int"
NONE_TEXT = "\u2014"
MINUS = "\u2212"

VALUE_KINDS = {
    Metric.BUDGET_VARIANCE_PCT: PERCENT,
    Metric.PREDICTED_OVERRUN_PCT: PERCENT,
    Metric.PREDICTED_OUTTURN: MONEY,
    Metric.CAMPAIGN_ROI: PERCENT,
    Metric.CHANNEL_ROI: PERCENT,
    Metric.CHANNEL_ROAS: RATIO,
    Metric.BLENDED_CAC: MONEY,
    Metric.PAID_CAC: MONEY,
    Metric.LTV_CAC: RATIO,
    Metric.PAYBACK_MONTHS: RATIO,
    Metric.NRR: PERCENT,
    Metric.GRR: PERCENT,
    Metric.CS_ROI: PERCENT,
    Metric.SPEND_ANOMALY: RATIO,
    Metric.SYNC_FAILURES: INT,
    Metric.SOURCE_STALE_HOURS: RATIO,
    Metric.RECONCILIATION_ACCURACY: PERCENT,
    Metric.RESPONSE_TIME_P95: INT,
    Metric.SCORECARD_VS_TARGET: RATIO,
}

THRESHOLD_COLOR = "#b42318"
RECOVERY_COLOR = "#1b7f3b"
VALUE_COLOR = "#0b5394"


def value_kind(metric: str) -> str:
    return VALUE_KINDS.get(metric, RATIO)


def value_text(value: Decimal | None, metric: str) -> str:
    """A value as the dashboards show it (rounded half-up): money with the reporting
    currency, percent with one decimal, counts whole, a missing value as "—"."""
    if value is None:
        return NONE_TEXT
    kind = value_kind(metric)
    places = {MONEY: 2, PERCENT: 1, INT: 0}.get(kind, 2)
    magnitude = round_half_up(abs(Decimal(value)), places)
    sign = MINUS if value < 0 and magnitude else ""
    text = f"{magnitude:,.{places}f}"
    if kind == MONEY:
        return f"{sign}{settings.FINHUB_REPORTING_CURRENCY} {text}"
    return f"{sign}{text}%" if kind == PERCENT else f"{sign}{text}"


def condition_text(rule: AlertRule) -> str:
    """ "above 5.0%" — the rule's comparator and threshold; with the recovery threshold."""
    text = f"{rule.get_comparator_display()} {value_text(rule.threshold, rule.metric)}"
    if rule.recovery_threshold is not None:
        text += f" (recovers past {value_text(rule.recovery_threshold, rule.metric)})"
    return text


@dataclass(frozen=True)
class SamplePoint:
    at: object  # datetime, or the stored text when it cannot be parsed
    value: Decimal | None


def samples(instance: AlertInstance) -> list[SamplePoint]:
    """The instance's latest evaluations, oldest first (``[tick ISO text, value text or
    null]`` in ``instance.samples``); unreadable entries are skipped."""
    points = []
    for entry in instance.samples or []:
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            continue
        tick, raw = entry
        moment = parse_datetime(str(tick)) if tick else None
        try:
            value = None if raw is None else Decimal(str(raw))
        except InvalidOperation:
            value = None
        at = timezone.localtime(moment) if moment and timezone.is_aware(moment) else moment
        points.append(SamplePoint(at=at or str(tick), value=value))
    return points


def _tick_label(at: object) -> str:
    return at.strftime("%d %b %H:%M") if hasattr(at, "strftime") else str(at)


def chart_data(instance: AlertInstance, points: list[SamplePoint]) -> dict:
    """The chart of ``points`` in the dashboards' JSON shape (dashboards/charts.py,
    ``Chart.data``): one line of the values, dashed lines at the threshold and at the
    recovery threshold. Values are exact decimal text; a missing one is null (a gap)."""
    rule = instance.rule
    references = [
        {
            "label": f"Threshold ({rule.get_comparator_display()})",
            "value": str(rule.threshold),
            "color": THRESHOLD_COLOR,
        },
    ]
    if rule.recovery_threshold is not None:
        references.append(
            {
                "label": "Recovery threshold",
                "value": str(rule.recovery_threshold),
                "color": RECOVERY_COLOR,
            }
        )
    kind = value_kind(rule.metric)
    return {
        "type": "line",
        "labels": [_tick_label(p.at) for p in points],
        "valueKind": kind,
        "currency": settings.FINHUB_REPORTING_CURRENCY if kind == MONEY else "",
        "horizontal": False,
        "stacked": False,
        "series": [
            {
                "label": rule.get_metric_display(),
                "type": "line",
                "color": VALUE_COLOR,
                "values": [None if p.value is None else str(p.value) for p in points],
                "links": [""] * len(points),
                "spacer": False,
            }
        ],
        "references": references,
    }


# metric -> (url name, the dashboard filter its scope maps to, fragment)
_FIGURES: dict[str, tuple[str, str, str]] = {
    Metric.BUDGET_VARIANCE_PCT: ("dashboards:executive", "department", ""),
    Metric.PREDICTED_OVERRUN_PCT: ("dashboards:forecast", "department", ""),
    Metric.PREDICTED_OUTTURN: ("dashboards:forecast", "department", ""),
    Metric.CAMPAIGN_ROI: ("dashboards:marketing", "campaign", ""),
    Metric.CHANNEL_ROI: ("dashboards:marketing", "channel", ""),
    Metric.CHANNEL_ROAS: ("dashboards:marketing", "channel", ""),
    Metric.BLENDED_CAC: ("dashboards:cac", "channel", ""),
    Metric.PAID_CAC: ("dashboards:cac", "channel", ""),
    Metric.LTV_CAC: ("dashboards:cac", "channel", ""),
    Metric.PAYBACK_MONTHS: ("dashboards:cac", "channel", ""),
    Metric.NRR: ("dashboards:retention", "segment", ""),
    Metric.GRR: ("dashboards:retention", "segment", ""),
    Metric.CS_ROI: ("dashboards:retention", "segment", ""),
    Metric.SPEND_ANOMALY: ("dashboards:forecast", "", "anomalies"),
    Metric.SYNC_FAILURES: ("connectors:health", "", ""),
    Metric.SOURCE_STALE_HOURS: ("connectors:health", "", ""),
    Metric.RECONCILIATION_ACCURACY: ("connectors:health", "", ""),
    Metric.RESPONSE_TIME_P95: ("roadmap:dashboard", "", "metrics-h"),
    Metric.SCORECARD_VS_TARGET: ("roadmap:dashboard", "", "metrics-h"),
}
# A rule's scope -> the dashboard filter its items are (the item's key is the filter value).
_SCOPE_FILTERS = {
    Scope.DEPARTMENT: "department",
    Scope.CAMPAIGN: "campaign",
    Scope.CHANNEL: "channel",
    Scope.SEGMENT: "segment",
}


@dataclass(frozen=True)
class FigureLink:
    url: str
    label: str


def figure_link(instance: AlertInstance, *, filter_value: str = "") -> FigureLink | None:
    """The dashboard figure ``instance`` watches, filtered to its item where the dashboard
    has that filter: ``filter_value`` is the item's value of that filter
    (:func:`alerts.selectors.dashboard_filter_value`; "" leaves the dashboard unfiltered)."""
    figure = _FIGURES.get(instance.rule.metric)
    if figure is None:
        return None
    url_name, dashboard_filter, fragment = figure
    url = reverse(url_name)
    label = {
        "dashboards:executive": "Executive dashboard",
        "dashboards:forecast": "Forecast dashboard",
        "dashboards:marketing": "Marketing ROI dashboard",
        "dashboards:cac": "CAC dashboard",
        "dashboards:retention": "Retention dashboard",
        "connectors:health": "Connector health",
        "roadmap:dashboard": "Success metrics scorecard",
    }[url_name]
    scope_filter = _SCOPE_FILTERS.get(instance.rule.scope)
    if dashboard_filter and scope_filter == dashboard_filter and filter_value:
        url += "?" + urlencode({dashboard_filter: filter_value})
        label += f" ({instance.scope_label or instance.scope_key})"
    if (
        url_name == "connectors:health"
        and instance.rule.scope == Scope.CONNECTOR
        and instance.scope_key
    ):
        fragment = f"connector-{instance.scope_key}"
    if fragment:
        url += f"#{fragment}"
    return FigureLink(url=url, label=label)
