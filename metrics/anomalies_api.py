"""Spend anomalies in the API (docs/metrics.md, "Spend anomalies").

``GET /api/v1/metrics/forecast/anomalies/`` lists the detected anomalies (view permission on
spend anomalies); ``POST …/anomalies/<id>/dismiss/`` dismisses one with a reason (change
permission). Detection runs in the background, after the nightly metrics.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from finhub.core.api import ErrorSerializer
from finhub.core.permissions import has_perm
from metrics.anomalies import anomalies_list, anomaly_dismiss, anomaly_lines_url
from metrics.models import SpendAnomaly

ANY = "any"


class AnomalyParamsSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[*SpendAnomaly.Status.values, ANY],
        required=False,
        default=SpendAnomaly.Status.OPEN,
        help_text="open (default), dismissed, or any.",
    )
    kind = serializers.ChoiceField(
        choices=SpendAnomaly.Kind.values,
        required=False,
        help_text="campaign_spend (daily) or gl_expense (weekly); default: both.",
    )


class SpendAnomalySerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    deviation_pct = serializers.DecimalField(
        max_digits=18,
        decimal_places=4,
        read_only=True,
        allow_null=True,
        help_text="deviation / |expected| as a fraction (0.25 = 25%); null when expected is 0.",
    )
    dismissed_by = serializers.CharField(
        source="dismissed_by.get_username", read_only=True, allow_null=True, default=None
    )
    lines_url = serializers.SerializerMethodField(
        help_text="The rows behind the anomaly: the GL-lines drill, or the campaign spend rows."
    )

    class Meta:
        model = SpendAnomaly
        fields = [
            "id",
            "kind",
            "kind_label",
            "scope_key",
            "label",
            "campaign",
            "account",
            "department",
            "period_start",
            "period_end",
            "actual",
            "expected",
            "low",
            "high",
            "deviation",
            "deviation_pct",
            "currency",
            "score",
            "status",
            "dismissed_by",
            "dismissed_at",
            "dismiss_reason",
            "detected_at",
            "updated_at",
            "lines_url",
        ]
        read_only_fields = fields

    def get_lines_url(self, obj: SpendAnomaly) -> str:
        return anomaly_lines_url(obj)


class DismissSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000, help_text="Why the anomaly is not one (kept with it)."
    )


class AnomalyListView(generics.ListAPIView):
    """Anomalies, newest period first (default permissions: view on spend anomalies)."""

    serializer_class = SpendAnomalySerializer
    queryset = SpendAnomaly.objects.all()  # the model permission class reads the model here
    filter_backends: list = []

    def get_queryset(self):
        params = AnomalyParamsSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        status = params.validated_data["status"]
        return anomalies_list(
            status=None if status == ANY else status, kind=params.validated_data.get("kind")
        )

    @extend_schema(
        summary="Spend anomalies",
        description="Daily campaign spend and weekly GL expense (account x department) "
        "outside their expected band, with the expected value and range, the deviation, the "
        "robust score and a link to the lines behind each (/docs/metrics/#spend-anomalies). "
        "Detected nightly; a dismissed anomaly stays dismissed. Money is in the reporting "
        "currency as exact decimal strings.",
        parameters=[AnomalyParamsSerializer],
        responses={
            200: SpendAnomalySerializer(many=True),
            400: OpenApiResponse(description="A parameter is invalid; the body names it."),
            403: OpenApiResponse(ErrorSerializer, description="Needs metrics.view_spendanomaly."),
        },
        tags=["metrics"],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AnomalyDismissView(APIView):
    permission_classes = [IsAuthenticated, has_perm("metrics.change_spendanomaly")]

    @extend_schema(
        summary="Dismiss a spend anomaly",
        description="Marks the anomaly dismissed with the reason given; later detections keep "
        "it dismissed (/docs/metrics/#spend-anomalies).",
        request=DismissSerializer,
        responses={
            200: SpendAnomalySerializer,
            400: OpenApiResponse(description="reason is missing or blank."),
            403: OpenApiResponse(ErrorSerializer, description="Needs metrics.change_spendanomaly."),
            404: OpenApiResponse(ErrorSerializer, description="No such anomaly."),
        },
        tags=["metrics"],
    )
    def post(self, request, pk: int):
        anomaly = get_object_or_404(anomalies_list(status=None), pk=pk)
        data = DismissSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            anomaly_dismiss(anomaly, user=request.user, reason=data.validated_data["reason"])
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response(SpendAnomalySerializer(anomaly).data)
