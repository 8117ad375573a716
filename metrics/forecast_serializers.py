"""Serializers of the forecast endpoints (metrics/forecast_api.py): the query parameters and
the stored forecast (docs/metrics.md, "Forecasts and prediction accuracy")."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from metrics.serializers import Number, SnapshotSerializer

LEVELS = ("series", "department", "account_type", "company")


class ForecastParamsSerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField(
        required=False,
        min_value=1900,
        max_value=2200,
        help_text="The fiscal (calendar) year forecast. Default: the current year.",
    )
    budget = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="A budget version id; default: the year's current version.",
    )

    def validate(self, attrs):
        attrs.setdefault("fiscal_year", timezone.localdate().year)
        return attrs


class ForecastGroupsParamsSerializer(ForecastParamsSerializer):
    level = serializers.ChoiceField(
        choices=LEVELS,
        required=False,
        help_text="Only the groups of this level: series (account x department), department "
        "(x account type), account_type (company) or company (operating income).",
    )
    department = serializers.CharField(
        required=False,
        max_length=50,
        help_text="Only the groups of this department (its code).",
    )


class ForecastMonthSerializer(serializers.Serializer):
    month = serializers.DateField()
    closed = serializers.BooleanField(help_text="Closed months show actuals, later ones forecasts.")
    actual = Number(allow_null=True)
    budget = Number()
    forecast = Number(allow_null=True)
    lower80 = Number(allow_null=True)
    upper80 = Number(allow_null=True)
    lower95 = Number(allow_null=True)
    upper95 = Number(allow_null=True)


class ForecastGroupSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=LEVELS)
    key = serializers.CharField()
    label = serializers.CharField()
    department = serializers.CharField(allow_blank=True)
    department_label = serializers.CharField(allow_blank=True)
    account = serializers.CharField(allow_blank=True)
    account_label = serializers.CharField(allow_blank=True)
    account_type = serializers.CharField(allow_blank=True)
    model = serializers.CharField(allow_blank=True, help_text="Chosen by the backtest.")
    model_label = serializers.CharField(allow_blank=True)
    fallback = serializers.CharField(
        allow_blank=True, help_text="Why a short or sparse series uses a simpler model."
    )
    months = ForecastMonthSerializer(many=True)
    full_year_budget = Number()
    predicted_outturn = Number()
    outturn_lower80 = Number()
    outturn_upper80 = Number()
    outturn_lower95 = Number()
    outturn_upper95 = Number()
    predicted_variance = Number()
    predicted_variance_pct = Number()
    favourable = serializers.BooleanField(allow_null=True)
    probability_over_budget = Number(help_text="P(full-year outturn > full-year budget), 0..1.")


class AccuracyRowSerializer(serializers.Serializer):
    horizon = serializers.IntegerField()
    accuracy_percent = Number()
    direction_accuracy_percent = Number()
    points = serializers.IntegerField()


class ModelAccuracyRowSerializer(AccuracyRowSerializer):
    model = serializers.CharField()
    model_label = serializers.CharField()


class GroupAccuracyRowSerializer(AccuracyRowSerializer):
    group = serializers.CharField()
    label = serializers.CharField()


class OutturnErrorSerializer(serializers.Serializer):
    origin = serializers.DateField()
    error_percent = Number()


class ForecastAccuracySerializer(serializers.Serializer):
    window = serializers.ListField(child=serializers.DateField())
    horizons = serializers.ListField(child=serializers.IntegerField())
    overall = AccuracyRowSerializer(many=True)
    by_model = ModelAccuracyRowSerializer(many=True)
    by_group = GroupAccuracyRowSerializer(many=True)
    outturn_error = OutturnErrorSerializer(many=True)
    model_mix = serializers.DictField(child=serializers.IntegerField())
    scorecard_accuracy_percent = Number()


class ForecastResultSerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField()
    origin = serializers.DateField(help_text="The last closed month: forecasts start after it.")
    reporting_currency = serializers.CharField()
    budget_versions = serializers.ListField(child=serializers.IntegerField())
    months = serializers.ListField(child=serializers.DateField())
    groups = ForecastGroupSerializer(many=True)
    accuracy = ForecastAccuracySerializer()
    series_count = serializers.IntegerField()


class ForecastSnapshotSerializer(SnapshotSerializer):
    result = ForecastResultSerializer()

    class Meta(SnapshotSerializer.Meta):
        pass


class ForecastAccuracySnapshotSerializer(SnapshotSerializer):
    result = ForecastAccuracySerializer(source="result.accuracy")

    class Meta(SnapshotSerializer.Meta):
        pass
