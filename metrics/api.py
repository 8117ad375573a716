"""The metrics endpoints: ``GET /api/v1/metrics/<report>/`` (defined in docs/metrics.md).

Each endpoint validates its query parameters, then returns the stored snapshot for exactly
those parameters (metrics/snapshots.py). The nightly and after-sync recomputes store the
default period (the last 12 full months plus the current month) for every model; a snapshot
that does not exist yet is computed on demand and stored, so the first request for new
parameters is slower and later ones read the row. Permission: ``core.view_dashboards``.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from finhub.core.api import ErrorSerializer
from finhub.core.permissions import has_perm
from metrics import serializers as s
from metrics.anomalies_api import AnomalyDismissView, AnomalyListView
from metrics.forecast_api import ForecastAccuracyView, ForecastView
from metrics.snapshots import Kind, snapshot_get_or_compute

ON_DEMAND = (
    " Reads the stored snapshot for these parameters; when none exists it is computed on demand "
    "and stored (the nightly and after-sync runs precompute the default period for every model)."
    " Money is in the reporting currency as exact decimal strings; a ratio with a zero "
    'denominator is "undefined".'
)


class MetricView(APIView):
    """GET a metric snapshot: validate the parameters, read (or compute) the snapshot."""

    permission_classes = [IsAuthenticated, has_perm("core.view_dashboards")]
    kind: str = ""
    params_serializer: type[s.PeriodParamsSerializer] = s.PeriodParamsSerializer
    output_serializer: type = s.SnapshotSerializer

    def get(self, request):
        params = self.params_serializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        snapshot = snapshot_get_or_compute(kind=self.kind, params=params.to_params())
        return Response(self.output_serializer(snapshot).data)


def documented(summary: str, description: str):
    """Document a metric view's GET from its own parameter and output serializers."""

    def decorate(view: type[MetricView]) -> type[MetricView]:
        schema = extend_schema(
            summary=summary,
            description=description + ON_DEMAND,
            parameters=[view.params_serializer],
            responses={
                200: view.output_serializer,
                400: OpenApiResponse(description="A parameter is invalid; the body names it."),
                403: OpenApiResponse(
                    ErrorSerializer, description="Needs the core.view_dashboards permission."
                ),
            },
            tags=["metrics"],
        )
        return extend_schema_view(get=schema)(view)

    return decorate


@documented(
    "Revenue attribution",
    "Attributed conversions and revenue per channel or campaign (names) for won deals "
    "closed in the period, for one model (/docs/metrics/#revenue-attribution), plus the "
    "(unattributed) row.",
)
class AttributionView(MetricView):
    kind = Kind.ATTRIBUTION
    params_serializer = s.AttributionParamsSerializer
    output_serializer = s.snapshot_serializer(s.AttributionResultSerializer)


@documented(
    "Campaign ROI",
    "Cost (spend in the period), attributed revenue (chosen model), ROI and ROAS per campaign "
    "or channel (/docs/metrics/#campaign-roi), the cost-missing list, the campaigns with "
    "spend lacking an ROI and why, and the ROI tracking capability.",
)
class CampaignRoiView(MetricView):
    kind = Kind.CAMPAIGN_ROI
    params_serializer = s.AttributionParamsSerializer
    output_serializer = s.snapshot_serializer(s.CampaignRoiResultSerializer)


@documented(
    "CAC, LTV and payback",
    "Per month of the period: blended, paid and per-channel CAC, ARPA, LTV (month and "
    "pooled 12-month churn), LTV:CAC and CAC payback months (/docs/metrics/#cac-ltv-and-payback).",
)
class CacView(MetricView):
    kind = Kind.CAC
    output_serializer = s.snapshot_serializer(s.CacResultSerializer)


@documented(
    "Sales analytics",
    "Pipeline by month and stage, win rate, average deal size, sales cycle, quota "
    "attainment per rep and team, sales ROI and sales-finance consistency with the "
    "mismatching deals (/docs/metrics/#sales).",
)
class SalesView(MetricView):
    kind = Kind.SALES
    output_serializer = s.snapshot_serializer(s.SalesResultSerializer)


@documented(
    "Budget vs actual",
    "Actual, budget (chosen or current version), variance, variance %, favourable and "
    "full-year outturn per account, account type, department or campaign and account "
    "type, with totals per account type added before rounding. The budget of a month the "
    "period covers in part is pro-rated by days; the outturn counts the months up to the "
    "last closed one (closed_through); ledger lines whose account is pending are the type "
    "unclassified (/docs/metrics/#budget-vs-actual).",
)
class BudgetVarianceView(MetricView):
    kind = Kind.BUDGET_VARIANCE
    params_serializer = s.BudgetVarianceParamsSerializer
    output_serializer = s.snapshot_serializer(s.BudgetVarianceResultSerializer)


@documented(
    "Subscriptions (MRR movements)",
    "Per month of the period: starting and ending MRR, new, expansion, contraction, churned "
    "and reactivation MRR, net new MRR, customer counts, logo churn, NRR and GRR for the month "
    "and trailing 12 months, ARPA, CAC, LTV and payback (the saas_metrics command's columns), "
    "with how many customers are behind each movement (who they are: "
    "/api/v1/metrics/subscription-customers/); optionally for one customer segment and / or "
    "acquisition channel (/docs/metrics/#subscriptions-and-mrr).",
)
class SubscriptionsView(MetricView):
    kind = Kind.SUBSCRIPTIONS
    params_serializer = s.SubscriptionsParamsSerializer
    output_serializer = s.snapshot_serializer(s.SubscriptionsResultSerializer)


@documented(
    "Customers behind the MRR movements",
    "Per month of the period and per movement (new, expansion, contraction, churned, "
    "reactivation): the customers behind it, each with what it adds to the movement's total, "
    "largest first; same parameters as /api/v1/metrics/subscriptions/ "
    "(/docs/metrics/#subscriptions-and-mrr).",
)
class SubscriptionCustomersView(MetricView):
    kind = Kind.SUBSCRIPTION_CUSTOMERS
    params_serializer = s.SubscriptionsParamsSerializer
    output_serializer = s.snapshot_serializer(s.SubscriptionCustomersResultSerializer)


@documented(
    "Cohort retention",
    "Logo and revenue retention by cohort month (the customers new in it) x months since "
    "start, for the cohorts of the period, measured to its last month "
    "(/docs/metrics/#retention-cohorts-and-customer-success-roi).",
)
class CohortsView(MetricView):
    kind = Kind.COHORTS
    output_serializer = s.snapshot_serializer(s.CohortsResultSerializer)


@documented(
    "Customer-success ROI",
    "CS ROI of the period, total and per customer segment, with its inputs (baseline churn "
    "rate, per month start MRR, churned MRR and churn avoided, expansion, contraction, CS cost "
    "allocated to segments by start MRR, retention value, the reason an ROI is undefined), the "
    "settings used and the retention ROI measurement coverage "
    "(/docs/metrics/#retention-cohorts-and-customer-success-roi).",
)
class CsRoiView(MetricView):
    kind = Kind.CS_ROI
    output_serializer = s.snapshot_serializer(s.CsRoiResultSerializer)


@documented(
    "Initiative ROI",
    "Per product initiative: cost split (GL, time entries, other, tagged GL lines), benefit, "
    "ROI for the period and cumulative, payback month and possible-double-count flags; the "
    "totals, the cumulative cost vs benefit per month, the development cost and the "
    "development ROI tracking coverage (/docs/metrics/#product-development-roi).",
)
class InitiativeRoiView(MetricView):
    kind = Kind.INITIATIVE_ROI
    output_serializer = s.snapshot_serializer(s.InitiativeRoiResultSerializer)


urlpatterns = [
    path("metrics/attribution/", AttributionView.as_view(), name="metrics-attribution"),
    path("metrics/campaign-roi/", CampaignRoiView.as_view(), name="metrics-campaign-roi"),
    path("metrics/cac/", CacView.as_view(), name="metrics-cac"),
    path("metrics/sales/", SalesView.as_view(), name="metrics-sales"),
    path("metrics/budget-variance/", BudgetVarianceView.as_view(), name="metrics-budget-variance"),
    path("metrics/subscriptions/", SubscriptionsView.as_view(), name="metrics-subscriptions"),
    path(
        "metrics/subscription-customers/",
        SubscriptionCustomersView.as_view(),
        name="metrics-subscription-customers",
    ),
    path("metrics/cohorts/", CohortsView.as_view(), name="metrics-cohorts"),
    path("metrics/cs-roi/", CsRoiView.as_view(), name="metrics-cs-roi"),
    path("metrics/initiative-roi/", InitiativeRoiView.as_view(), name="metrics-initiative-roi"),
    path("metrics/forecast/", ForecastView.as_view(), name="metrics-forecast"),
    path(
        "metrics/forecast/accuracy/",
        ForecastAccuracyView.as_view(),
        name="metrics-forecast-accuracy",
    ),
    path(
        "metrics/forecast/anomalies/", AnomalyListView.as_view(), name="metrics-forecast-anomalies"
    ),
    path(
        "metrics/forecast/anomalies/<int:pk>/dismiss/",
        AnomalyDismissView.as_view(),
        name="metrics-forecast-anomaly-dismiss",
    ),
]
