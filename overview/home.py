"""What the home page tells the person logged in: one section per role they hold.

* Finance viewer: the headline figures — revenue and operating income year to date against
  budget, MRR, blended CAC — each with its 12-month trend and how fresh it is.
* Project manager: the rollout's status, its overdue and blocked items and the scorecard.
* Integration admin: the sources that are failing, stale, paused or never synced, and the
  rejected records waiting for someone.

A superuser sees every section. Every read of another app the home page needs is in this
module — stored metrics snapshots, connector freshness, the roadmap's dashboard, open
rejected records — through those apps' public functions, so a read that moves is repointed
here only. A fixed number of queries per section, whatever the data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, Group
from django.db.models import Count, Max
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from connectors.selectors import SourceFreshness, source_freshness
from finhub.core.calendar import (
    CUSTOM,
    YTD,
    Period,
    months_ending,
    opening_period,
    twelve_months_to_date,
)
from finhub.core.roles import FINANCE_VIEWER, INTEGRATION_ADMIN, PROJECT_MANAGER
from metrics.models import MetricSnapshot
from metrics.services import latest_complete_month
from metrics.snapshots import Kind, Request, budget_request, period_request, snapshots_get
from records.models import RejectedRecord
from roadmap.selectors import Dashboard, PhaseRow, governance_dashboard

HUNDRED = Decimal(100)
UNDEFINED = "undefined"
SPARK_WIDTH, SPARK_HEIGHT = 120, 28


# --- small presentation helpers --------------------------------------------------------------


def _number(value: object) -> Decimal | None:
    if value in (None, "", UNDEFINED):
        return None
    return Decimal(str(value))


def money_text(value: Decimal | None, currency: str) -> str:
    return "—" if value is None else f"{currency} {value:,.2f}"


def ratio_text(value: Decimal | None, places: int = 2) -> str:
    return "—" if value is None else f"{value:,.{places}f}"


def percent_change(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    """(current - previous) / |previous| in percent; None when previous is 0 or unknown."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous) * HUNDRED


def signed_percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:+.1f}%"


def _url(name: str, *args: object) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@dataclass(frozen=True)
class Trend:
    """A small series, oldest first, drawn as an inline SVG sparkline (gaps for undefined)."""

    labels: list[str]
    values: list[Decimal | None]

    @property
    def points(self) -> str:
        known = [v for v in self.values if v is not None]
        if len(known) < 2:
            return ""
        low, high = min(known), max(known)
        span = (high - low) or Decimal(1)
        step = Decimal(SPARK_WIDTH) / (len(self.values) - 1)
        coordinates = []
        for index, value in enumerate(self.values):
            if value is None:
                continue
            x = step * index
            y = Decimal(SPARK_HEIGHT - 2) - (value - low) / span * Decimal(SPARK_HEIGHT - 4)
            coordinates.append(f"{x:.1f},{y:.1f}")
        return " ".join(coordinates)

    @property
    def description(self) -> str:
        """The series in words (the sparkline's accessible text)."""
        return "; ".join(
            f"{label}: {'—' if value is None else f'{value:,.2f}'}"
            for label, value in zip(self.labels, self.values, strict=True)
        )


@dataclass(frozen=True)
class Headline:
    key: str
    title: str
    value: str
    lines: list[str]  # comparison lines ("vs budget +2.1%")
    trend: Trend
    trend_label: str
    computed_at: dt.datetime | None
    data_as_of: dt.datetime | None
    link: str
    css: str = ""  # favourable / unfavourable


# --- finance viewer -------------------------------------------------------------------------

REVENUE, COST_OF_SALES, EXPENSE = "revenue", "cost_of_sales", "expense"


def _pnl(snapshot: MetricSnapshot) -> dict[str, Decimal] | None:
    """Revenue, expenses and operating income (actual and budget) of a budget-variance
    snapshot by department; None when it has no ledger line."""
    rows = snapshot.result.get("rows", [])
    if not rows:
        return None
    totals = {
        f"{side}_{kind}": Decimal(0)
        for side in ("actual", "budget")
        for kind in (REVENUE, COST_OF_SALES, EXPENSE)
    }
    for row in rows:
        kind = row["account_type"]
        if kind in (REVENUE, COST_OF_SALES, EXPENSE):
            # Add the unrounded values (rounding each row first can be a cent off the total).
            exact = row.get("exact", row)
            totals[f"actual_{kind}"] += _number(exact["actual"]) or 0
            totals[f"budget_{kind}"] += _number(exact["budget"]) or 0
    out = {}
    for side in ("actual", "budget"):
        revenue = totals[f"{side}_{REVENUE}"]
        expenses = totals[f"{side}_{COST_OF_SALES}"] + totals[f"{side}_{EXPENSE}"]
        out[f"{side}_revenue"] = revenue
        out[f"{side}_operating"] = revenue - expenses
    return out


@dataclass
class FinanceSection:
    currency: str
    period_label: str
    headlines: list[Headline] = field(default_factory=list)
    sources_total: int = 0
    sources_warning: list[SourceFreshness] = field(default_factory=list)
    sources_link: str = ""
    empty: bool = False


def _variance_line(actual: Decimal, budget: Decimal, direction: int) -> tuple[str, str]:
    if budget == 0:
        return "No budget for the period", ""
    change = percent_change(actual, budget)
    css = ""
    if actual != budget:
        css = "favourable" if (actual > budget) == (direction > 0) else "unfavourable"
    return f"{signed_percent(change)} vs budget ({budget:,.2f})", css


def finance_requests(today: dt.date) -> list[Request]:
    """The snapshots the headline figures read: budget vs actual by department for the year
    to date and for each of the last 12 months (what the executive page reads), and CAC for
    the metrics engine's default period (what the engine stores after every sync)."""
    engine_start, engine_end = twelve_months_to_date(today)
    return [
        budget_request(opening_period(YTD, today)),
        *(budget_request(month) for month in months_ending(today)),
        period_request(Kind.CAC, Period(CUSTOM, engine_start, engine_end)),
    ]


def finance_section(*, today: dt.date | None = None) -> FinanceSection:
    """The headline figures, read from stored snapshots in one query (a missing one is
    computed once, as the dashboards do) plus one for the sources' freshness."""
    today = today or timezone.localdate()
    currency = settings.FINHUB_REPORTING_CURRENCY
    ytd = opening_period(YTD, today)
    months = months_ending(today)
    snapshots = snapshots_get(finance_requests(today))
    current, monthly, cac = snapshots[0], snapshots[1:-1], snapshots[-1]
    section = FinanceSection(currency=currency, period_label=ytd.label)

    sources = source_freshness()
    section.sources_total = len(sources)
    section.sources_warning = [source for source in sources if source.is_warning]
    section.sources_link = _url("connectors:health")

    figures = _pnl(current)
    month_figures = [_pnl(snapshot) for snapshot in monthly]
    month_labels = [f"{month.start:%b %Y}" for month in months]
    executive = _url("dashboards:executive")
    if figures is not None:
        line, css = _variance_line(figures["actual_revenue"], figures["budget_revenue"], 1)
        section.headlines.append(
            Headline(
                key="revenue",
                title=f"Revenue, {ytd.label}",
                value=money_text(figures["actual_revenue"], currency),
                lines=[line],
                css=css,
                trend=Trend(
                    month_labels,
                    [f["actual_revenue"] if f else None for f in month_figures],
                ),
                trend_label="Revenue per month, last 12 months",
                computed_at=current.computed_at,
                data_as_of=current.inputs_freshness,
                link=executive,
            )
        )
        margin = (
            figures["actual_operating"] / figures["actual_revenue"] * HUNDRED
            if figures["actual_revenue"]
            else None
        )
        line, css = _variance_line(figures["actual_operating"], figures["budget_operating"], 1)
        section.headlines.append(
            Headline(
                key="operating",
                title=f"Operating income, {ytd.label}",
                value=money_text(figures["actual_operating"], currency),
                lines=[line, f"Operating margin {ratio_text(margin, 1)}%"],
                css=css,
                trend=Trend(
                    month_labels,
                    [f["actual_operating"] if f else None for f in month_figures],
                ),
                trend_label="Operating income per month, last 12 months",
                computed_at=current.computed_at,
                data_as_of=current.inputs_freshness,
                link=executive,
            )
        )

    cac_months = cac.result.get("months", [])
    cac_labels = [dt.date.fromisoformat(row["month"]).strftime("%b %Y") for row in cac_months]
    cac_page = _url("dashboards:cac")
    if cac_months and any(_number(row.get("mrr")) for row in cac_months):
        latest, before = cac_months[-1], cac_months[-2] if len(cac_months) > 1 else None
        mrr = _number(latest.get("mrr"))
        change = percent_change(mrr, _number(before.get("mrr")) if before else None)
        section.headlines.append(
            Headline(
                key="mrr",
                title=f"MRR, {cac_labels[-1]}",
                value=money_text(mrr, currency),
                lines=[
                    f"{signed_percent(change)} vs {cac_labels[-2]}" if before else "",
                    f"{latest.get('active_customers', 0):,} active customers",
                ],
                trend=Trend(cac_labels, [_number(row.get("mrr")) for row in cac_months]),
                trend_label="MRR at each month end",
                computed_at=cac.computed_at,
                data_as_of=cac.inputs_freshness,
                link=cac_page,
            )
        )
    complete = latest_complete_month(cac_months, today=today)
    if complete is not None:
        label = dt.date.fromisoformat(complete["month"]).strftime("%b %Y")
        section.headlines.append(
            Headline(
                key="cac",
                title=f"Blended CAC, {label}",
                value=money_text(_number(complete.get("blended_cac")), currency),
                lines=[
                    f"{complete.get('new_customers', 0):,} new customers",
                    f"LTV:CAC {ratio_text(_number(complete.get('ltv_to_cac')))}",
                ],
                trend=Trend(cac_labels, [_number(row.get("blended_cac")) for row in cac_months]),
                trend_label="Blended CAC per month (gaps: no new customer)",
                computed_at=cac.computed_at,
                data_as_of=cac.inputs_freshness,
                link=cac_page,
            )
        )
    section.empty = not section.headlines
    return section


# --- project manager ------------------------------------------------------------------------


@dataclass
class RolloutSection:
    dashboard: Dashboard
    current_phase: PhaseRow | None
    overdue: list[Any]  # checklist items (roadmap.selectors)
    blocked: list[Any]
    link: str


def rollout_section() -> RolloutSection:
    """The roadmap's status from its own dashboard read (a fixed number of queries)."""
    board = governance_dashboard()
    current = next((phase for phase in board.phases if phase.is_current), None)
    return RolloutSection(
        dashboard=board,
        current_phase=current,
        overdue=[item for item in board.attention if not getattr(item, "is_blocked", False)],
        blocked=[item for item in board.attention if getattr(item, "is_blocked", False)],
        link=_url("roadmap:dashboard"),
    )


# --- integration admin ----------------------------------------------------------------------


@dataclass(frozen=True)
class RejectGroup:
    source: str
    entity: str
    count: int
    latest: dt.datetime


@dataclass
class IntegrationSection:
    sources_total: int
    attention: list[SourceFreshness]
    rejects: list[RejectGroup]
    rejects_total: int
    health_link: str
    rejects_link: str


def integration_section() -> IntegrationSection:
    """Sources needing attention (one query) and open rejected records per source and
    entity (one aggregate query)."""
    sources = source_freshness()
    groups = [
        RejectGroup(row["source__name"], row["entity"], row["count"], row["latest"])
        for row in RejectedRecord.objects.filter(status=RejectedRecord.Status.OPEN)
        .values("source__name", "entity")
        .annotate(count=Count("pk"), latest=Max("received_at"))
        .order_by("-count", "source__name", "entity")
    ]
    rejects_link = _url("admin:records_rejectedrecord_changelist")
    return IntegrationSection(
        sources_total=len(sources),
        attention=[source for source in sources if source.is_warning],
        rejects=groups,
        rejects_total=sum(group.count for group in groups),
        health_link=_url("connectors:health"),
        rejects_link=f"{rejects_link}?status__exact=open" if rejects_link else "",
    )


# --- the page -------------------------------------------------------------------------------


@dataclass
class HomePage:
    finance: FinanceSection | None = None
    rollout: RolloutSection | None = None
    integration: IntegrationSection | None = None

    @property
    def has_section(self) -> bool:
        return any((self.finance, self.rollout, self.integration))


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    """The FinHub roles (finhub.core.roles) the user holds — the groups of that name; a
    superuser holds them all."""
    roles = {FINANCE_VIEWER, PROJECT_MANAGER, INTEGRATION_ADMIN}
    if getattr(user, "is_superuser", False):
        return roles
    if user.pk is None:
        return set()
    return set(Group.objects.filter(user=user.pk, name__in=roles).values_list("name", flat=True))


def home_page(user: AbstractBaseUser | AnonymousUser, *, today: dt.date | None = None) -> HomePage:
    """The sections for ``user``'s roles, each read only when the user holds the role."""
    roles = user_roles(user)
    page = HomePage()
    if FINANCE_VIEWER in roles:
        page.finance = finance_section(today=today)
    if PROJECT_MANAGER in roles:
        page.rollout = rollout_section()
    if INTEGRATION_ADMIN in roles:
        page.integration = integration_section()
    return page
