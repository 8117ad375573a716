"""Roadmap API: read the programme; PATCH a checklist item's status; POST measurements."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from roadmap import selectors, services
from roadmap.models import Measurement, Risk, SuccessMetric, WorkItem
from roadmap.serializers import (
    ChecklistItemSerializer,
    ChecklistItemUpdateSerializer,
    MeasurementCreateSerializer,
    MeasurementSerializer,
    PhaseSerializer,
    RiskSerializer,
    SuccessMetricSerializer,
    WorkItemSerializer,
)

MEASUREMENT_SCOPE = "roadmap.measurements"


class CanRecordMeasurement(BasePermission):
    """A user holding roadmap.add_measurement, or an API token with the measurements scope.

    The token (connectors.ApiToken) is what token authentication puts in ``request.auth``;
    it answers ``has_scope(scope)``.
    """

    message = "Recording measurements needs the roadmap add-measurement permission or a token "
    message += f"with the {MEASUREMENT_SCOPE!r} scope."

    def has_permission(self, request, view) -> bool:
        has_scope = getattr(request.auth, "has_scope", None)
        if callable(has_scope) and has_scope(MEASUREMENT_SCOPE):
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("roadmap.add_measurement"))


def _django_error_to_drf(exc: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError({"non_field_errors": exc.messages})


class PhaseViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PhaseSerializer
    queryset = selectors.phase_list_with_progress().prefetch_related(
        "work_items__phase", "gate_metrics"
    )
    filterset_fields = ["programme", "number"]
    ordering = ["programme", "number"]


class WorkItemViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = WorkItemSerializer
    queryset = WorkItem.objects.select_related("phase")
    filterset_fields = ["phase", "phase__number", "owner"]


class ChecklistItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Read checklist items; PATCH one's status, notes or evidence link (PM only)."""

    serializer_class = ChecklistItemSerializer
    queryset = selectors.checklist_item_list()
    filterset_fields = ["programme", "kind", "phase__number", "status", "owner"]
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(request=ChecklistItemUpdateSerializer, responses=ChecklistItemSerializer)
    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        data = ChecklistItemUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.checklist_item_update(item=item, user=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise _django_error_to_drf(exc) from exc
        item = self.get_queryset().get(pk=item.pk)
        return Response(ChecklistItemSerializer(item).data)


class RiskViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RiskSerializer
    queryset = Risk.objects.select_related("owner")
    filterset_fields = ["programme", "category", "status"]
    ordering_fields = ["score", "likelihood", "impact", "review_date"]
    ordering = ["-score", "title"]


class SuccessMetricViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SuccessMetricSerializer
    lookup_field = "key"
    filterset_fields = ["programme", "group"]

    def get_queryset(self):
        latest = Measurement.objects.filter(metric=OuterRef("pk")).order_by("-measured_at", "-pk")
        return selectors.metric_list().annotate(
            latest_value=Subquery(latest.values("value")[:1]),
            latest_measured_at=Subquery(latest.values("measured_at")[:1]),
            latest_confirmed_at=Subquery(latest.values("confirmed_at")[:1]),
            latest_source=Subquery(latest.values("source")[:1]),
        )

    # The permission class reads the model from ``queryset``.
    queryset = SuccessMetric.objects.all()


class MeasurementViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Measurements of success metrics; POST one by metric key (PM or scoped API token)."""

    serializer_class = MeasurementSerializer
    queryset = Measurement.objects.select_related("metric", "recorded_by")
    filterset_fields = ["metric__key", "source"]

    def get_permissions(self):
        if self.action == "create":
            return [CanRecordMeasurement()]
        return super().get_permissions()

    def get_serializer_class(self):
        if self.action == "create":
            return MeasurementCreateSerializer
        return MeasurementSerializer

    @extend_schema(
        request=MeasurementCreateSerializer,
        responses={
            201: MeasurementSerializer,
            200: OpenApiResponse(
                MeasurementSerializer,
                description="An automatic source sent the value its latest measurement of "
                "that period already has: nothing recorded, that measurement returned.",
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        data = MeasurementCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        token = request.auth if callable(getattr(request.auth, "has_scope", None)) else None
        if "source" not in fields:
            prefix = getattr(token, "prefix", "") or "api"
            fields["source"] = f"auto:token.{prefix}" if token else Measurement.MANUAL
        try:
            # A token's principal is not a user row: recorded_by stays empty for it.
            measurement = services.measurement_record(recorded_by=request.user, **fields)
        except DjangoValidationError as exc:
            raise _django_error_to_drf(exc) from exc
        code = status.HTTP_201_CREATED if measurement.recorded else status.HTTP_200_OK
        return Response(MeasurementSerializer(measurement).data, status=code)


router = SimpleRouter()
router.register("roadmap/phases", PhaseViewSet, basename="roadmap-phase")
router.register("roadmap/work-items", WorkItemViewSet, basename="roadmap-workitem")
router.register("roadmap/checklist-items", ChecklistItemViewSet, basename="roadmap-checklistitem")
router.register("roadmap/risks", RiskViewSet, basename="roadmap-risk")
router.register("roadmap/metrics", SuccessMetricViewSet, basename="roadmap-metric")
router.register("roadmap/measurements", MeasurementViewSet, basename="roadmap-measurement")

urlpatterns = router.urls
