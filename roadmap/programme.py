"""The finance-integration rollout FinHub ships with, as plain data.

``roadmap.services.programme_load`` turns this into rows, creating only what is missing
(matched by the natural keys below) and never touching a row a project manager edited.
Changing a title here does not rename an existing row: the database is the truth once loaded.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from finhub.core.roles import FINANCE_VIEWER, INTEGRATION_ADMIN, PROJECT_MANAGER
from roadmap.evidence import CHECKS

# Owners are named by role: ``programme_load(owners=…)`` gives each row the user that holds
# the role (load_demo passes the demo logins); without one the row has no owner yet.
FINANCE, INTEGRATION, PM = FINANCE_VIEWER, INTEGRATION_ADMIN, PROJECT_MANAGER

PROGRAMME_KEY = "finance-integration"
PROGRAMME_NAME = "Finance integration rollout"
PROGRAMME_DESCRIPTION = (
    "Connect FinHub to the company's financial systems in four phases of four weeks: core "
    "systems, marketing and sales ROI, product and customer success, then optimisation."
)
# The demo's "today" falls in week 3 of phase 2: the preparation and phase 1 are behind it
# (phase 1's deliverables verified by their evidence once the first syncs ran), phase 2 is
# under way and due in two weeks, phases 3 and 4 are ahead.
WEEKS_BEFORE_TODAY_AT_FIRST_LOAD = 6


@dataclass(frozen=True)
class WorkItemSpec:
    key: str
    title: str
    description: str = ""
    owner: str = PM  # a role (finhub.core.roles)


@dataclass(frozen=True)
class DeliverableSpec:
    key: str
    title: str
    owner: str = PM  # a role (finhub.core.roles)
    evidence_check: str = ""  # a key of roadmap.evidence.CHECKS; empty: ticked by hand


@dataclass(frozen=True)
class PhaseSpec:
    number: int
    name: str
    start_week: int
    end_week: int
    work_items: tuple[WorkItemSpec, ...]
    deliverables: tuple[DeliverableSpec, ...]


@dataclass(frozen=True)
class RiskSpec:
    key: str
    title: str
    category: str  # Risk.Category value
    likelihood: int
    impact: int
    mitigation: str
    owner: str = PM  # a role (finhub.core.roles)


@dataclass(frozen=True)
class MetricSpec:
    key: str
    group: str  # SuccessMetric.Group value
    name: str
    target: Decimal
    unit: str  # SuccessMetric.Unit value
    direction: str  # SuccessMetric.Direction value
    description: str = ""


@dataclass(frozen=True)
class ChecklistSpec:
    key: str
    title: str
    owner: str = PM  # a role (finhub.core.roles)


PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(
        number=1,
        name="Core financial systems integration",
        start_week=1,
        end_week=4,
        work_items=(
            WorkItemSpec("erp-integration", "ERP system integration", owner=INTEGRATION),
            WorkItemSpec(
                "budget-planning-integration", "Budget planning integration", owner=INTEGRATION
            ),
            WorkItemSpec(
                "basic-revenue-attribution",
                "Basic revenue attribution",
                "Sales-to-finance tracking.",
                owner=FINANCE,
            ),
            WorkItemSpec(
                "executive-dashboard", "Initial executive financial dashboard", owner=FINANCE
            ),
        ),
        deliverables=(
            DeliverableSpec(
                "p1-erp-api-connection",
                "ERP API connection established",
                INTEGRATION,
                "connector_synced:erp",
            ),
            DeliverableSpec(
                "p1-budget-tool-integration",
                "Budget planning tool integration complete",
                INTEGRATION,
                "connector_synced:budget",
            ),
            DeliverableSpec(
                "p1-revenue-attribution-tracking",
                "Basic revenue attribution tracking operational",
                FINANCE,
                "report_has_figures:attribution",
            ),
            DeliverableSpec(
                "p1-executive-dashboard",
                "Executive dashboard deployed",
                FINANCE,
                "report_has_figures:budget_variance",
            ),
        ),
    ),
    PhaseSpec(
        number=2,
        name="Marketing & sales ROI integration",
        start_week=5,
        end_week=8,
        work_items=(
            WorkItemSpec(
                "marketing-automation-integration",
                "Marketing automation integration",
                owner=INTEGRATION,
            ),
            WorkItemSpec(
                "campaign-roi-tracking",
                "Campaign ROI tracking",
                "Comprehensive campaign attribution.",
                owner=FINANCE,
            ),
            WorkItemSpec(
                "sales-performance-analytics",
                "Sales performance analytics",
                "Sales ROI.",
                owner=FINANCE,
            ),
            WorkItemSpec(
                "cac-monitoring", "Customer acquisition cost (CAC) monitoring", owner=FINANCE
            ),
        ),
        deliverables=(
            DeliverableSpec(
                "p2-marketing-integrations",
                "Marketing platform integrations complete",
                INTEGRATION,
                "connector_synced:marketing",
            ),
            DeliverableSpec(
                "p2-campaign-roi-tracking",
                "Campaign ROI tracking operational",
                FINANCE,
                "report_has_figures:campaign_roi",
            ),
            DeliverableSpec(
                "p2-sales-analytics-dashboard",
                "Sales analytics dashboard deployed",
                FINANCE,
                "report_has_figures:sales",
            ),
            DeliverableSpec(
                "p2-cac-monitoring",
                "CAC monitoring in production",
                FINANCE,
                "report_has_figures:cac",
            ),
        ),
    ),
    PhaseSpec(
        number=3,
        name="Product & customer success integration",
        start_week=9,
        end_week=12,
        work_items=(
            WorkItemSpec("product-development-roi", "Product development ROI", owner=FINANCE),
            WorkItemSpec(
                "customer-success-roi",
                "Customer success ROI",
                "Retention and expansion.",
                owner=FINANCE,
            ),
            WorkItemSpec("advanced-financial-analytics", "Advanced financial analytics"),
            WorkItemSpec(
                "automated-performance-alerts",
                "Automated financial performance alerts",
                owner=INTEGRATION,
            ),
        ),
        deliverables=(
            DeliverableSpec(
                "p3-product-roi-tracking",
                "Product ROI tracking operational",
                FINANCE,
                "report_has_figures:initiative_roi",
            ),
            DeliverableSpec(
                "p3-customer-success-metrics",
                "Customer success metrics integrated",
                FINANCE,
                "report_has_figures:cs_roi",
            ),
            DeliverableSpec("p3-advanced-analytics", "Advanced analytics platform deployed"),
            DeliverableSpec(
                "p3-automated-alerts",
                "Automated alerts configured",
                INTEGRATION,
                "alerts_configured",
            ),
        ),
    ),
    PhaseSpec(
        number=4,
        name="Optimization & enhancement",
        start_week=13,
        end_week=16,
        work_items=(
            WorkItemSpec("financial-process-automation", "Financial process automation"),
            WorkItemSpec("advanced-reporting", "Advanced reporting"),
            WorkItemSpec(
                "workflow-performance-optimization",
                "Performance optimization of financial workflows",
                owner=INTEGRATION,
            ),
            WorkItemSpec(
                "system-integration-testing", "System integration testing", owner=INTEGRATION
            ),
        ),
        deliverables=(
            DeliverableSpec(
                "p4-processes-automated",
                "Financial processes automated",
                evidence_check="close_automated",
            ),
            DeliverableSpec(
                "p4-reporting-suite",
                "Comprehensive reporting suite deployed",
                FINANCE,
                "reports_delivered",
            ),
            DeliverableSpec(
                "p4-performance-optimization", "Performance optimization complete", INTEGRATION
            ),
            DeliverableSpec(
                "p4-integration-tests",
                "All integration tests passing",
                INTEGRATION,
                "tests_passing",
            ),
        ),
    ),
)

PRE_IMPLEMENTATION: tuple[ChecklistSpec, ...] = (
    ChecklistSpec(
        "pre-identify-systems",
        "Identify all financial systems requiring integration",
        INTEGRATION,
    ),
    ChecklistSpec("pre-document-data-flows", "Document current data flows and processes", FINANCE),
    ChecklistSpec("pre-integration-requirements", "Define integration requirements and priorities"),
    ChecklistSpec("pre-team-and-governance", "Establish project team and governance"),
)

# Likelihood and impact are the starting assessment (1-5); the PM re-scores them.
RISKS: tuple[RiskSpec, ...] = (
    RiskSpec(
        "data-quality",
        "Data quality issues",
        "technical",
        4,
        4,
        "Validate data at integration points.",
        INTEGRATION,
    ),
    RiskSpec(
        "api-reliability",
        "API reliability",
        "technical",
        3,
        4,
        "Implement retry logic and fallback mechanisms.",
        INTEGRATION,
    ),
    RiskSpec(
        "performance-degradation",
        "Performance degradation",
        "technical",
        3,
        3,
        "Monitor and optimize query performance.",
        INTEGRATION,
    ),
    RiskSpec(
        "change-management",
        "Change management",
        "operational",
        3,
        3,
        "Comprehensive training and documentation.",
    ),
    RiskSpec(
        "process-disruption",
        "Process disruption",
        "operational",
        2,
        4,
        "Implement changes incrementally.",
    ),
    RiskSpec(
        "resource-constraints",
        "Resource constraints",
        "operational",
        4,
        3,
        "Prioritize critical integrations.",
    ),
)

_P = "percent"
_PP = "points"  # percentage points: the difference of two percentages
_AT_LEAST = "at_least"

METRICS: tuple[MetricSpec, ...] = (
    # Integration success
    MetricSpec("data_sync_accuracy", "integration", "Data synchronization accuracy",
               Decimal("99.9"), _P, _AT_LEAST),
    MetricSpec("api_reliability", "integration", "API reliability (uptime)",
               Decimal("99.5"), _P, _AT_LEAST),
    MetricSpec("financial_query_response_time", "integration",
               "Response time for financial data queries", Decimal("2"), "seconds", "at_most"),
    MetricSpec("reporting_time_reduction", "integration",
               "Reduction in financial reporting time", Decimal("40"), _P, _AT_LEAST),
    # Financial performance
    MetricSpec("campaign_roi_tracking_capability", "financial_performance",
               "Campaign ROI tracking capability", Decimal("100"), _P, _AT_LEAST,
               "Campaigns with spend that have an ROI / campaigns with spend "
               "(docs/metrics.md, Campaign ROI)."),
    MetricSpec("budget_variance_prediction_accuracy", "financial_performance",
               "Budget variance prediction accuracy", Decimal("95"), _P, _AT_LEAST),
    MetricSpec("revenue_attribution_accuracy", "financial_performance",
               "Revenue attribution accuracy", Decimal("90"), _P, _AT_LEAST),
    MetricSpec("faster_financial_decisions", "financial_performance",
               "Faster financial decision-making", Decimal("50"), _P, _AT_LEAST),
    # Unit economics: the CAC dashboard draws these targets as reference lines.
    MetricSpec("blended_cac", "financial_performance",
               "Blended customer acquisition cost", Decimal("20000"), "money", "at_most",
               "S&M cost / new customers per month, in the reporting currency "
               "(docs/metrics.md, CAC, LTV and payback)."),
    MetricSpec("ltv_to_cac", "financial_performance", "LTV to CAC ratio", Decimal("3"),
               "ratio", _AT_LEAST, "LTV / blended CAC (docs/metrics.md, CAC, LTV and payback)."),
    MetricSpec("cac_payback_months", "financial_performance", "CAC payback period",
               Decimal("12"), "months", "at_most",
               "Months of gross-margin ARPA to recover blended CAC "
               "(docs/metrics.md, CAC, LTV and payback)."),
    # Cross-domain
    MetricSpec("sales_finance_consistency", "cross_domain", "Sales-finance data consistency",
               Decimal("95"), _P, _AT_LEAST,
               "Won deals matching ERP revenue within tolerance / won deals "
               "(docs/metrics.md, Sales)."),
    MetricSpec("campaign_roi_measurement_capability", "cross_domain",
               "Campaign ROI measurement capability", Decimal("100"), _P, _AT_LEAST),
    MetricSpec("development_roi_tracking_improvement", "cross_domain",
               "Improvement in development ROI tracking", Decimal("30"), _PP, _AT_LEAST,
               "Development ROI tracking coverage of the last complete month minus its "
               "baseline, in percentage points; the baseline is the coverage entered here "
               "or else the first one measured (docs/metrics.md, Product development ROI)."),
    MetricSpec("retention_roi_measurement_improvement", "cross_domain",
               "Improvement in retention ROI measurement", Decimal("35"), _PP, _AT_LEAST,
               "Retention ROI measurement coverage of the last complete month minus its "
               "baseline, in percentage points; the baseline is the coverage entered here "
               "or else the first one measured (docs/metrics.md, Retention, cohorts and "
               "customer-success ROI)."),
)  # fmt: skip

HOURLY = datetime.timedelta(hours=1)
DAILY = datetime.timedelta(days=1)
MONTHLY = datetime.timedelta(days=31)

# How often each metric is measured, so the scorecard can flag a figure nobody refreshed
# (stale: older than its cadence plus half of it). As each pusher runs: the request timing
# flush hourly; syncs (several a day) and the nightly recompute at 02:30 daily; the
# month-end close and the monthly forecast origin monthly; alert decisions as they are
# taken (a month without any is worth a look). A metric missing here has no cadence.
METRIC_CADENCES: dict[str, datetime.timedelta] = {
    "data_sync_accuracy": DAILY,  # after every sync's reconciliation, and the close
    "api_reliability": DAILY,  # after every sync, and daily
    "financial_query_response_time": HOURLY,  # the request timing's hourly push
    "reporting_time_reduction": MONTHLY,  # when a close delivers its pack
    "campaign_roi_tracking_capability": DAILY,  # nightly recompute
    "budget_variance_prediction_accuracy": MONTHLY,  # forecast recomputed as a month closes
    "revenue_attribution_accuracy": DAILY,  # nightly recompute
    "faster_financial_decisions": MONTHLY,  # each alert decision
    "blended_cac": DAILY,  # nightly recompute (last complete month)
    "ltv_to_cac": DAILY,
    "cac_payback_months": DAILY,
    "sales_finance_consistency": DAILY,  # nightly recompute
    "campaign_roi_measurement_capability": DAILY,  # nightly recompute
    "development_roi_tracking_improvement": DAILY,  # nightly recompute
    "retention_roi_measurement_improvement": DAILY,  # nightly recompute
}

# Each phase's exit gate: the success metrics it owns, by what the phase delivers. Phase 1
# connects the systems (sync accuracy, API reliability); phase 2 marketing and sales ROI
# (campaign ROI tracking, attribution, CAC, sales-finance consistency); phase 3 product and
# customer success with the analytics and alerts (development / retention ROI coverage,
# forecast accuracy, decision speed); phase 4 performance and reporting (response time,
# reporting time, reconciled campaign ROI measurement).
PHASE_GATE_METRICS: dict[int, tuple[str, ...]] = {
    1: ("data_sync_accuracy", "api_reliability"),
    2: (
        "campaign_roi_tracking_capability",
        "revenue_attribution_accuracy",
        "blended_cac",
        "sales_finance_consistency",
    ),
    3: (
        "development_roi_tracking_improvement",
        "retention_roi_measurement_improvement",
        "budget_variance_prediction_accuracy",
        "faster_financial_decisions",
    ),
    4: (
        "financial_query_response_time",
        "reporting_time_reduction",
        "campaign_roi_measurement_capability",
    ),
}

# Every key, so a typo in a spec fails at import, not half-way through a load.
_ALL_KEYS = (
    [w.key for p in PHASES for w in p.work_items]
    + [d.key for p in PHASES for d in p.deliverables]
    + [c.key for c in PRE_IMPLEMENTATION]
)
assert len(_ALL_KEYS) == len(set(_ALL_KEYS)), "duplicate work item / checklist key"
assert len({m.key for m in METRICS}) == len(METRICS), "duplicate metric key"
assert {d.evidence_check for p in PHASES for d in p.deliverables} - {""} <= set(CHECKS), (
    "unknown evidence check"
)
_METRIC_KEYS = {m.key for m in METRICS}
assert set(METRIC_CADENCES) <= _METRIC_KEYS, "cadence for an unknown metric"
assert {k for keys in PHASE_GATE_METRICS.values() for k in keys} <= _METRIC_KEYS, (
    "gate metric unknown"
)
assert set(PHASE_GATE_METRICS) <= {p.number for p in PHASES}, "gate for an unknown phase"
