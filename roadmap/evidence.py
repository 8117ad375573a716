"""Evidence that a checklist item is done, checked by FinHub itself.

A checklist item may name an evidence check (``ChecklistItem.evidence_check``): a key of
:data:`CHECKS`. A check reads :class:`EvidenceFacts` — plain data about the sources that
synced and the reports that hold figures, gathered from the other apps' public reads by
``overview.evidence`` — and says whether the deliverable is verified, with a sentence a
project manager can read and the page where the evidence is (a URL name).

Plain Python: no ORM, no imports from other apps, so every check is tested with hand-made
facts and the roadmap stays below the apps it observes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

VERIFIED = "verified"
MISSING = "missing"
UNAVAILABLE = "unavailable"

CONNECTORS_PAGE = "connectors:health"


@dataclass(frozen=True)
class SourceFact:
    """A connector FinHub pulls from and its last good sync (local time; None: never)."""

    name: str
    kind: str
    kind_label: str
    last_success_at: dt.datetime | None
    status_label: str


@dataclass(frozen=True)
class ReportFact:
    """The newest stored report of one kind that holds figures."""

    kind: str
    computed_at: dt.datetime  # local time
    period: str  # "2025-11-01 to 2026-11-27"
    detail: str  # what the figures are, e.g. "412 won deals attributed"


@dataclass(frozen=True)
class AlertingFact:
    """The enabled alert rules, how many of them notify through an enabled channel, and
    when a rule was last evaluated (local time; None: never)."""

    enabled_rules: int
    notifying_rules: int
    last_evaluated_at: dt.datetime | None


@dataclass(frozen=True)
class CloseFact:
    """The newest month-end close whose automated tasks all ran: its month ("2026-10"), how
    many automated tasks it ran, when its report pack was delivered and when the period was
    locked (local time; None: not yet)."""

    month: str
    automated_tasks: int
    pack_delivered_at: dt.datetime | None
    locked_at: dt.datetime | None


@dataclass(frozen=True)
class ReportingFact:
    """Report packs delivered by e-mail (by a schedule or a close), the newest delivery
    (local time; None: never) and how many report definitions FinHub offers."""

    deliveries: int
    last_delivered_at: dt.datetime | None
    report_definitions: int


@dataclass(frozen=True)
class EvidenceFacts:
    """What the checks read. ``reports`` maps a report kind (the metrics snapshot kind) to
    its newest stored report with figures; a kind without one is absent."""

    checked_at: dt.datetime
    sources: tuple[SourceFact, ...] = ()
    reports: dict[str, ReportFact] = field(default_factory=dict)
    alerting: AlertingFact | None = None
    close: CloseFact | None = None
    reporting: ReportingFact | None = None


@dataclass(frozen=True)
class Evidence:
    """A check's answer: its state, one sentence, and the page that shows the evidence."""

    state: str  # VERIFIED / MISSING / UNAVAILABLE
    summary: str
    link: str = ""  # URL name


@dataclass(frozen=True)
class Check:
    key: str
    label: str  # what it verifies, for the admin's choice list
    run: Callable[[EvidenceFacts], Evidence]


def _when(moment: dt.datetime) -> str:
    return f"{moment:%d %b %Y %H:%M}"


def connector_synced(kind: str, kind_label: str) -> Check:
    """Verified when an enabled connector of ``kind`` has synced successfully at least once."""

    def run(facts: EvidenceFacts) -> Evidence:
        synced = sorted(
            (s for s in facts.sources if s.kind == kind and s.last_success_at is not None),
            key=lambda s: s.last_success_at,
            reverse=True,
        )
        if not synced:
            configured = [s.name for s in facts.sources if s.kind == kind]
            why = (
                f"{', '.join(configured)} has not synced successfully yet."
                if configured
                else f"No {kind_label} connector is configured."
            )
            return Evidence(MISSING, why, CONNECTORS_PAGE)
        latest = synced[0]
        return Evidence(
            VERIFIED,
            f"{latest.name} ({kind_label}) last synced successfully {_when(latest.last_success_at)}"
            f"; now {latest.status_label.lower()}.",
            CONNECTORS_PAGE,
        )

    return Check(f"connector_synced:{kind}", f"A {kind_label} connector synced successfully", run)


def report_has_figures(kind: str, what: str, page: str, page_label: str) -> Check:
    """Verified when a stored report of ``kind`` holds figures (the page reading it shows
    data, not an empty state)."""

    def run(facts: EvidenceFacts) -> Evidence:
        report = facts.reports.get(kind)
        if report is None:
            return Evidence(MISSING, f"No {what} with figures has been computed yet.", page)
        computed = _when(report.computed_at)
        return Evidence(
            VERIFIED, f"{page_label}: {report.detail}, {report.period} (computed {computed}).", page
        )

    return Check(f"report_has_figures:{kind}", f"The {page_label} shows {what}", run)


ALERTS_PAGE = "alerts:list"


def _alerts_configured(facts: EvidenceFacts) -> Evidence:
    """Verified when enabled rules are being evaluated and at least one notifies someone."""
    alerting = facts.alerting
    if alerting is None or not alerting.enabled_rules:
        return Evidence(MISSING, "No alert rule is enabled.", ALERTS_PAGE)
    rules = f"{alerting.enabled_rules} alert rule(s) enabled"
    if alerting.last_evaluated_at is None:
        return Evidence(
            MISSING,
            f"{rules}, none evaluated yet: Celery beat evaluates them every minute.",
            ALERTS_PAGE,
        )
    evaluated = f"last evaluated {_when(alerting.last_evaluated_at)}"
    if not alerting.notifying_rules:
        return Evidence(
            MISSING,
            f"{rules} ({evaluated}), but none notifies anyone: give a rule an enabled "
            "channel in Admin > Alert rules.",
            ALERTS_PAGE,
        )
    return Evidence(
        VERIFIED,
        f"{rules}, {alerting.notifying_rules} notifying through a channel; {evaluated}.",
        ALERTS_PAGE,
    )


CLOSE_PAGE = "closing:list"
REPORTS_PAGE = "reports:index"


def _close_automated(facts: EvidenceFacts) -> Evidence:
    """Verified when a month-end close ran its automated tasks through to the delivered
    pack and the locked period."""
    close = facts.close
    if close is None:
        return Evidence(
            MISSING,
            "No month-end close has run its automated tasks yet: open one on the Close page.",
            CLOSE_PAGE,
        )
    if close.pack_delivered_at is None or close.locked_at is None:
        return Evidence(
            MISSING,
            f"The {close.month} close ran {close.automated_tasks} automated task(s) but has "
            "not delivered its pack and locked the period yet.",
            CLOSE_PAGE,
        )
    return Evidence(
        VERIFIED,
        f"The {close.month} close ran {close.automated_tasks} automated tasks; pack delivered "
        f"{_when(close.pack_delivered_at)}, period locked {_when(close.locked_at)}.",
        CLOSE_PAGE,
    )


def _reports_delivered(facts: EvidenceFacts) -> Evidence:
    """Verified when report packs have been delivered to their recipients."""
    reporting = facts.reporting
    if reporting is None or not reporting.deliveries or reporting.last_delivered_at is None:
        return Evidence(
            MISSING,
            "No report pack has been delivered yet: give a pack a schedule, or run a close.",
            REPORTS_PAGE,
        )
    return Evidence(
        VERIFIED,
        f"{reporting.report_definitions} reports; {reporting.deliveries} pack delivery(ies), "
        f"the last {_when(reporting.last_delivered_at)}.",
        REPORTS_PAGE,
    )


def not_checkable(key: str, label: str, why: str) -> Check:
    """A deliverable FinHub cannot observe (yet): it stays unverified, with the reason."""
    return Check(key, label, lambda facts: Evidence(UNAVAILABLE, why))


_CHECKS = (
    connector_synced("erp", "ERP / general ledger"),
    connector_synced("budget", "budget planning"),
    connector_synced("crm", "CRM / sales"),
    connector_synced("marketing", "marketing automation"),
    connector_synced("billing", "billing / subscriptions"),
    connector_synced("product", "product development tracking"),
    report_has_figures(
        "budget_variance", "budget vs actual", "dashboards:executive", "Executive dashboard"
    ),
    report_has_figures(
        "attribution", "revenue attribution", "dashboards:marketing", "Marketing ROI dashboard"
    ),
    report_has_figures(
        "campaign_roi", "campaign ROI", "dashboards:marketing", "Marketing ROI dashboard"
    ),
    report_has_figures("sales", "sales analytics", "dashboards:sales", "Sales dashboard"),
    report_has_figures("cac", "CAC by month", "dashboards:cac", "CAC dashboard"),
    report_has_figures(
        "cs_roi", "customer-success ROI", "dashboards:retention", "Retention dashboard"
    ),
    report_has_figures(
        "initiative_roi", "initiative ROI", "dashboards:product", "Product ROI dashboard"
    ),
    Check("alerts_configured", "Automated alerts are configured", _alerts_configured),
    Check("close_automated", "A month-end close ran its automated tasks", _close_automated),
    Check("reports_delivered", "Report packs are delivered", _reports_delivered),
    not_checkable(
        "tests_passing",
        "The integration tests pass",
        "FinHub does not receive CI results: tick this item by hand with a link to the "
        "passing CI run.",
    ),
)
CHECKS: dict[str, Check] = {check.key: check for check in _CHECKS}


def evidence_check_choices() -> list[tuple[str, str]]:
    """The choices of ``ChecklistItem.evidence_check`` (a callable, so adding a check needs
    no migration)."""
    return [(check.key, check.label) for check in _CHECKS]


def evidence_for(check_key: str, facts: EvidenceFacts) -> Evidence:
    """Run the check named ``check_key``; an unknown key (a check removed from the code) is
    reported, not raised, so one stale row cannot stop the others being checked."""
    check = CHECKS.get(check_key)
    if check is None:
        return Evidence(UNAVAILABLE, f"Unknown evidence check {check_key!r}.")
    return check.run(facts)
