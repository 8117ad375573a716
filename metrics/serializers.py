"""Serializers of the metrics endpoints (metrics/api.py).

Input serializers validate the query parameters (a 400 names the parameter); output
serializers describe the stored snapshot (numbers as strings: Decimals are
exact, ``"undefined"`` marks a ratio with a zero denominator).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from finhub.core.calendar import twelve_months_to_date
from metrics.models import MetricSnapshot
from metrics.params import (
    BUDGET_GROUP_BYS,
    DEFAULT_HALF_LIFE,
    DEFAULT_LOOKBACK,
    GROUP_BY_CHANNEL,
    GROUP_BYS,
    LINEAR,
    MAX_PERIOD_DAYS,
    MODELS,
    attribution_params,
    budget_params,
    period_params,
    subscriptions_params,
)
from records import models as m

# --- input -----------------------------------------------------------------------------------


EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)


class PeriodParamsSerializer(serializers.Serializer):
    """``start`` / ``end`` (inclusive ISO dates); default: the last 12 full months plus the
    current month up to today."""

    start = serializers.DateField(
        required=False, help_text="First day (YYYY-MM-DD). Default: 12 months ago, 1st."
    )
    end = serializers.DateField(required=False, help_text="Last day, inclusive. Default: today.")

    def validate(self, attrs):
        default_start, default_end = twelve_months_to_date(timezone.localdate())
        attrs.setdefault("start", default_start)
        attrs.setdefault("end", default_end)
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "end must not be before start."})
        for name in ("start", "end"):
            if not EARLIEST_DATE <= attrs[name] <= LATEST_DATE:
                raise serializers.ValidationError(
                    {name: f"{name} must be between {EARLIEST_DATE} and {LATEST_DATE}."}
                )
        if (attrs["end"] - attrs["start"]).days > MAX_PERIOD_DAYS:
            # Month-by-month metrics (CAC, MRR) cost grows with the span: keep a request bounded.
            raise serializers.ValidationError(
                {"end": f"The period may span at most {MAX_PERIOD_DAYS} days (10 years)."}
            )
        return attrs

    def to_params(self) -> dict:
        data = self.validated_data
        return period_params(start=data["start"], end=data["end"])


class AttributionParamsSerializer(PeriodParamsSerializer):
    model = serializers.ChoiceField(
        choices=MODELS,
        default=LINEAR,
        help_text="An attribution model (/docs/metrics/#attribution-models).",
    )
    group_by = serializers.ChoiceField(choices=GROUP_BYS, default=GROUP_BY_CHANNEL)
    lookback_days = serializers.IntegerField(
        default=DEFAULT_LOOKBACK.days, min_value=0, max_value=3650
    )
    half_life_days = serializers.DecimalField(
        max_digits=7,
        decimal_places=2,
        default=Decimal(DEFAULT_HALF_LIFE.days),
        min_value=Decimal("0.01"),
        help_text="Time-decay half-life in days.",
    )

    def to_params(self) -> dict:
        data = self.validated_data
        return attribution_params(
            model=data["model"],
            group_by=data["group_by"],
            start=data["start"],
            end=data["end"],
            lookback_days=data["lookback_days"],
            half_life_days=data["half_life_days"],
        )


class BudgetVarianceParamsSerializer(PeriodParamsSerializer):
    group_by = serializers.ChoiceField(choices=BUDGET_GROUP_BYS, default="account")
    budget = serializers.IntegerField(
        required=False, help_text="Budget (version) id. Default: the current versions."
    )

    def validate_budget(self, value: int) -> int:
        if not m.Budget.objects.filter(pk=value).exists():
            raise serializers.ValidationError(f"No budget with id {value}.")
        return value

    def to_params(self) -> dict:
        data = self.validated_data
        return budget_params(
            start=data["start"],
            end=data["end"],
            group_by=data["group_by"],
            budget=data.get("budget"),
        )


class SubscriptionsParamsSerializer(PeriodParamsSerializer):
    segment = serializers.CharField(
        required=False,
        max_length=50,
        help_text="Only the customers of this segment (as the source names it). Default: all.",
    )
    channel = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Only the customers acquired through this channel (its name). Default: all.",
    )

    def to_params(self) -> dict:
        data = self.validated_data
        return subscriptions_params(
            start=data["start"],
            end=data["end"],
            segment=data.get("segment"),
            channel=data.get("channel"),
        )


# --- output ----------------------------------------------------------------------------------

Number = serializers.CharField  # exact decimal text or "undefined"


class MissingFxSerializer(serializers.Serializer):
    currency = serializers.CharField()
    date = serializers.DateField()
    amount = serializers.CharField(required=False)
    deal = serializers.CharField(required=False)


class AttributionRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Channel or campaign name, or (unattributed).")
    conversions = Number()
    revenue = Number()


class AttributionResultSerializer(serializers.Serializer):
    reporting_currency = serializers.CharField()
    rows = AttributionRowSerializer(many=True)
    attributed_count = serializers.IntegerField()
    attributed_revenue = Number()
    unattributed_count = serializers.IntegerField()
    unattributed_revenue = Number()
    missing_fx = MissingFxSerializer(many=True)


class RoiRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    cost = Number()
    revenue = Number()
    roi = Number()
    roas = Number()
    status = serializers.ChoiceField(choices=["ok", "cost_missing", "no_activity", "not_tracked"])


class LackingRoiSerializer(serializers.Serializer):
    key = serializers.CharField()
    cost = Number()
    status = serializers.CharField()
    why = serializers.CharField()


class CampaignRoiResultSerializer(serializers.Serializer):
    reporting_currency = serializers.CharField()
    rows = RoiRowSerializer(many=True)
    cost_missing = serializers.ListField(child=serializers.CharField())
    lacking_roi = LackingRoiSerializer(many=True)
    tracking_capability = Number()
    tracking_capability_percent = Number()
    unlinked_spend = Number()
    missing_fx = MissingFxSerializer(many=True)


class CacMonthSerializer(serializers.Serializer):
    month = serializers.DateField()
    new_customers = serializers.IntegerField()
    active_customers = serializers.IntegerField()
    mrr = Number()
    sales_marketing_cost = Number()
    blended_cac = Number()
    paid_cac = Number()
    channel_cac = serializers.DictField(child=Number())
    arpa = Number()
    logo_churn_rate = Number()
    ltv = Number()
    ltv_12_month = Number()
    ltv_to_cac = Number()
    payback_months = Number()
    channel_payback_months = serializers.DictField(child=Number())


class CacResultSerializer(serializers.Serializer):
    reporting_currency = serializers.CharField()
    gross_margin = Number()
    paid_channels = serializers.ListField(child=serializers.CharField())
    months = CacMonthSerializer(many=True)
    missing_fx = MissingFxSerializer(many=True)


class SalesCycleSerializer(serializers.Serializer):
    deals = serializers.IntegerField()
    median = Number()
    mean = Number()


class QuotaRowSerializer(serializers.Serializer):
    rep = serializers.CharField(required=False)
    team = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    quota = Number()
    won_revenue = Number()
    attainment = Number()


class QuotaAttainmentSerializer(serializers.Serializer):
    reps = QuotaRowSerializer(many=True)
    teams = QuotaRowSerializer(many=True)


class PipelineRowSerializer(serializers.Serializer):
    month = serializers.DateField()
    stage = serializers.CharField()
    deals = serializers.IntegerField()
    amount = Number()
    open_deals = serializers.IntegerField()
    open_amount = Number()


class MismatchSerializer(serializers.Serializer):
    deal = serializers.CharField()
    name = serializers.CharField()
    amount = Number()
    currency = serializers.CharField()
    erp_revenue = Number(allow_null=True)
    why = serializers.CharField()


class SalesResultSerializer(serializers.Serializer):
    reporting_currency = serializers.CharField()
    won_deals = serializers.IntegerField()
    lost_deals = serializers.IntegerField()
    win_rate = Number()
    won_revenue = Number()
    average_deal_size = Number()
    sales_cycle_days = SalesCycleSerializer()
    quota_attainment = QuotaAttainmentSerializer()
    pipeline = PipelineRowSerializer(many=True)
    sales_cost = Number()
    sales_roi = Number()
    sales_finance_consistency = Number()
    sales_finance_consistency_percent = Number()
    tolerance = Number()
    mismatches = MismatchSerializer(many=True)
    missing_fx = MissingFxSerializer(many=True)


class BudgetRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    account_type = serializers.CharField()
    actual = Number()
    budget = Number()
    variance = Number()
    variance_pct = Number()
    favourable = serializers.BooleanField(allow_null=True)
    full_year_budget = Number()
    full_year_outturn = Number()


class BudgetTotalSerializer(serializers.Serializer):
    """Totals per account type, added from the unrounded rows and rounded once."""

    account_type = serializers.CharField(
        help_text="An account type, or unclassified: ledger lines whose account is pending."
    )
    actual = Number()
    budget = Number()
    variance = Number()
    full_year_budget = Number()
    full_year_outturn = Number()


class BudgetVarianceResultSerializer(serializers.Serializer):
    reporting_currency = serializers.CharField()
    budget_versions = serializers.ListField(child=serializers.IntegerField())
    fiscal_year = serializers.IntegerField()
    closed_months = serializers.ListField(child=serializers.DateField())
    closed_through = serializers.DateField(
        required=False,
        help_text="The last closed month (the last month ended before today): the outturn "
        "counts the fiscal year's months up to it as closed, whichever period is asked.",
    )
    rows = BudgetRowSerializer(many=True)
    totals = BudgetTotalSerializer(many=True, required=False)
    missing_fx = MissingFxSerializer(many=True)


class MovementCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    name = serializers.CharField()
    amount = Number(help_text="What the customer adds to the movement's total.")


class MovementCustomersSerializer(serializers.Serializer):
    new = MovementCustomerSerializer(many=True)
    expansion = MovementCustomerSerializer(many=True)
    contraction = MovementCustomerSerializer(many=True)
    churned = MovementCustomerSerializer(many=True)
    reactivation = MovementCustomerSerializer(many=True)


class MovementCountsSerializer(serializers.Serializer):
    new = serializers.IntegerField()
    expansion = serializers.IntegerField()
    contraction = serializers.IntegerField()
    churned = serializers.IntegerField()
    reactivation = serializers.IntegerField()


class SubscriptionCustomersMonthSerializer(serializers.Serializer):
    month = serializers.DateField()
    customers = MovementCustomersSerializer()


class SubscriptionCustomersResultSerializer(serializers.Serializer):
    reporting_currency = serializers.CharField()
    segment = serializers.CharField(allow_null=True)
    channel = serializers.CharField(allow_null=True)
    months = SubscriptionCustomersMonthSerializer(many=True)
    missing_fx = MissingFxSerializer(many=True)


class SubscriptionsMonthSerializer(serializers.Serializer):
    month = serializers.DateField()
    starting_mrr = Number()
    new_mrr = Number()
    expansion_mrr = Number()
    contraction_mrr = Number()
    churned_mrr = Number()
    reactivation_mrr = Number()
    net_new_mrr = Number()
    ending_mrr = Number()
    customers_start = serializers.IntegerField()
    new_customers = serializers.IntegerField()
    reactivated_customers = serializers.IntegerField()
    churned_customers = serializers.IntegerField()
    customers_end = serializers.IntegerField()
    logo_churn_rate = Number()
    grr_month = Number()
    nrr_month = Number()
    nrr_t12m = Number()
    grr_t12m = Number()
    arpa = Number()
    blended_cac = Number()
    paid_cac = Number()
    ltv = Number()
    ltv_t12m_churn = Number()
    cac_payback_months = Number()
    ltv_to_cac = Number()
    movement_counts = MovementCountsSerializer()


class SubscriptionsResultSerializer(serializers.Serializer):
    reporting_currency = serializers.CharField()
    gross_margin = Number()
    paid_channels = serializers.ListField(child=serializers.CharField())
    segment = serializers.CharField(allow_null=True)
    channel = serializers.CharField(allow_null=True)
    columns = serializers.ListField(child=serializers.CharField())
    cac_note = serializers.CharField(allow_blank=True)
    months = SubscriptionsMonthSerializer(many=True)
    missing_fx = MissingFxSerializer(many=True)


class CohortSerializer(serializers.Serializer):
    cohort = serializers.DateField()
    customers = serializers.IntegerField()
    start_mrr = Number()
    logo = serializers.ListField(child=Number(), help_text="k = 0, 1, … months since start.")
    revenue = serializers.ListField(child=Number())


class CohortsResultSerializer(serializers.Serializer):
    reporting_currency = serializers.CharField()
    last_month = serializers.DateField()
    cohorts = CohortSerializer(many=True)
    max_months = serializers.IntegerField()
    missing_fx = MissingFxSerializer(many=True)


class CsRoiMonthSerializer(serializers.Serializer):
    month = serializers.DateField()
    start_mrr = Number()
    churned_mrr = Number()
    expansion = Number()
    contraction = Number()
    churn_avoided = Number(help_text="Baseline rate x start MRR - churned MRR.")


class CsRoiSerializer(serializers.Serializer):
    baseline_rate = Number()
    months = CsRoiMonthSerializer(many=True)
    start_mrr = Number()
    expansion = Number()
    contraction = Number()
    churned_mrr = Number()
    churn_avoided = Number()
    retention_value = Number()
    cs_cost = Number()
    roi = Number()
    reason = serializers.CharField(allow_blank=True, help_text="Why the ROI is undefined.")


class CsRoiSegmentSerializer(CsRoiSerializer):
    segment = serializers.CharField(
        allow_blank=True, help_text='As the source names it; "" for customers without one.'
    )


class CsRoiSettingsSerializer(serializers.Serializer):
    cs_departments = serializers.ListField(child=serializers.CharField())
    gross_margin = Number()
    value_horizon_months = serializers.IntegerField()
    baseline_months = serializers.IntegerField()
    baseline_first = serializers.DateField()
    baseline_last = serializers.DateField()


class RetentionCoverageSerializer(serializers.Serializer):
    retention_roi_measurement_coverage = Number(help_text="In %.")
    covered_mrr = Number()
    end_mrr = Number()
    segments_with_roi = serializers.ListField(child=serializers.CharField())


class CsRoiResultSerializer(serializers.Serializer):
    reporting_currency = serializers.CharField()
    settings = CsRoiSettingsSerializer()
    total = CsRoiSerializer()
    segments = CsRoiSegmentSerializer(many=True)
    cs_cost = Number()
    unallocated_cs_cost = Number()
    coverage = RetentionCoverageSerializer()
    missing_fx = MissingFxSerializer(many=True)


class InitiativeCostSplitSerializer(serializers.Serializer):
    gl = Number()
    time = Number()
    other = Number()
    tagged_gl = Number()
    total = Number()


class CumulativePointSerializer(serializers.Serializer):
    month = serializers.DateField()
    cost = Number()
    benefit = Number()


class InitiativeRoiRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    name = serializers.CharField()
    product = serializers.CharField(allow_blank=True)
    owner = serializers.CharField(allow_blank=True)
    start = serializers.DateField()
    cost = InitiativeCostSplitSerializer()
    benefit = Number()
    roi = Number()
    roi_reason = serializers.CharField(allow_blank=True)
    cumulative_cost = Number()
    cumulative_benefit = Number()
    cumulative_roi = Number()
    payback_month = serializers.DateField(allow_null=True)
    payback = serializers.CharField(help_text='A month (YYYY-MM) or "not paid back".')
    double_count_months = serializers.ListField(child=serializers.DateField())
    flags = serializers.ListField(child=serializers.CharField())
    has_benefit = serializers.BooleanField()
    cumulative = CumulativePointSerializer(many=True)


class InitiativeTotalsSerializer(serializers.Serializer):
    cost = InitiativeCostSplitSerializer()
    benefit = Number()
    roi = Number()
    cumulative_cost = Number()
    cumulative_benefit = Number()


class DevelopmentCostSerializer(serializers.Serializer):
    gl = Number()
    time = Number()
    total = Number()
    assigned = Number()


class DevelopmentCoverageSerializer(serializers.Serializer):
    development_roi_tracking_coverage = Number(help_text="In %.")
    covered_cost = Number()
    initiatives_with_roi_and_benefit = serializers.ListField(child=serializers.IntegerField())


class InitiativeRoiSettingsSerializer(serializers.Serializer):
    product_departments = serializers.ListField(child=serializers.CharField())
    gross_margin = Number()


class InitiativeRoiResultSerializer(serializers.Serializer):
    reporting_currency = serializers.CharField()
    settings = InitiativeRoiSettingsSerializer()
    initiatives = InitiativeRoiRowSerializer(many=True)
    totals = InitiativeTotalsSerializer()
    cumulative = CumulativePointSerializer(many=True)
    development_cost = DevelopmentCostSerializer()
    coverage = DevelopmentCoverageSerializer()
    missing_fx = MissingFxSerializer(many=True)


class SnapshotSerializer(serializers.ModelSerializer):
    """A stored snapshot: its parameters, when it was computed, and how fresh its inputs were."""

    kind = serializers.CharField(
        help_text="attribution, campaign_roi, cac, sales, budget_variance, subscriptions, "
        "cohorts, cs_roi or initiative_roi."
    )
    params = serializers.DictField()

    class Meta:
        model = MetricSnapshot
        fields = [
            "kind",
            "params",
            "period_start",
            "period_end",
            "computed_at",
            "inputs_freshness",
            "result",
        ]


def snapshot_serializer(result_serializer: type[serializers.Serializer]) -> type:
    """A snapshot serializer whose ``result`` is described by ``result_serializer``."""
    name = result_serializer.__name__.replace("ResultSerializer", "SnapshotSerializer")
    return type(
        name,
        (SnapshotSerializer,),
        {"result": result_serializer(), "Meta": SnapshotSerializer.Meta},
    )
