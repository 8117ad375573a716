import datetime

from django.utils import timezone
from rest_framework import serializers

from roadmap.gates import metric_is_stale
from roadmap.models import ChecklistItem, Measurement, Phase, Risk, SuccessMetric, WorkItem
from roadmap.selectors import measurement_source_kind, progress_percent


class WorkItemSerializer(serializers.ModelSerializer):
    phase = serializers.IntegerField(source="phase.number", read_only=True)

    class Meta:
        model = WorkItem
        fields = ["id", "key", "title", "description", "phase", "order", "owner"]


class PhaseSerializer(serializers.ModelSerializer):
    start_date = serializers.DateField(read_only=True)
    end_date = serializers.DateField(read_only=True)
    work_items = WorkItemSerializer(many=True, read_only=True)
    items_done = serializers.IntegerField(read_only=True)
    items_applicable = serializers.IntegerField(read_only=True)
    progress_percent = serializers.SerializerMethodField()
    # The gate's configuration; the status becomes complete only through the admin's
    # "Mark complete" (roadmap.services.phase_complete), never by a write here.
    gate_metrics = serializers.SlugRelatedField(many=True, read_only=True, slug_field="key")

    class Meta:
        model = Phase
        fields = [
            "id",
            "number",
            "name",
            "description",
            "start_week",
            "end_week",
            "start_date",
            "end_date",
            "items_done",
            "items_applicable",
            "progress_percent",
            "status",
            "completed_at",
            "gate_requires_deliverables",
            "gate_metrics",
            "work_items",
        ]
        read_only_fields = fields

    def get_progress_percent(self, obj) -> int | None:
        return progress_percent(done=obj.items_done, applicable=obj.items_applicable)


class ChecklistItemSerializer(serializers.ModelSerializer):
    phase = serializers.IntegerField(source="phase.number", read_only=True, allow_null=True)
    owner = serializers.CharField(source="owner.username", read_only=True, allow_null=True)
    completed_by = serializers.CharField(
        source="completed_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = ChecklistItem
        fields = [
            "id",
            "key",
            "kind",
            "phase",
            "title",
            "owner",
            "due_date",
            "status",
            "completed_by",
            "completed_at",
            "evidence_url",
            "notes",
            "updated_at",
            # What FinHub checked itself (roadmap/evidence.py), and when.
            "evidence_check",
            "evidence_state",
            "evidence_summary",
            "evidence_link",
            "evidence_checked_at",
        ]
        read_only_fields = fields


class ChecklistItemUpdateSerializer(serializers.Serializer):
    """What a PATCH may change; everything else about an item is edited in the admin."""

    status = serializers.ChoiceField(choices=ChecklistItem.Status.choices, required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    evidence_url = serializers.URLField(required=False, allow_blank=True, max_length=500)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send at least one of status, notes, evidence_url.")
        return attrs


class RiskSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True, allow_null=True)

    class Meta:
        model = Risk
        fields = [
            "id",
            "key",
            "title",
            "category",
            "description",
            "likelihood",
            "impact",
            "score",
            "owner",
            "status",
            "review_date",
            "mitigation",
        ]
        read_only_fields = fields


class SuccessMetricSerializer(serializers.ModelSerializer):
    latest_value = serializers.DecimalField(
        max_digits=14, decimal_places=4, read_only=True, allow_null=True
    )
    latest_measured_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_measured_at = serializers.SerializerMethodField(
        help_text="When the latest value was last measured: first recorded or re-confirmed "
        "by its automatic source."
    )
    source_kind = serializers.SerializerMethodField(
        help_text='"automatic" (pushed), "entered" (typed in) or null when never measured.'
    )
    cadence_seconds = serializers.SerializerMethodField(
        help_text="How often the metric is measured, in seconds; null: no cadence."
    )
    stale = serializers.SerializerMethodField(
        help_text="Not measured within its cadence plus half of it."
    )

    class Meta:
        model = SuccessMetric
        fields = [
            "key",
            "group",
            "name",
            "description",
            "target_value",
            "unit",
            "direction",
            "baseline",
            "cadence",
            "cadence_seconds",
            "latest_value",
            "latest_measured_at",
            "last_measured_at",
            "source_kind",
            "stale",
        ]
        read_only_fields = fields

    def get_last_measured_at(self, obj) -> datetime.datetime | None:
        measured = getattr(obj, "latest_measured_at", None)
        confirmed = getattr(obj, "latest_confirmed_at", None)
        if measured is None:
            return None
        return max(measured, confirmed or measured)

    def get_source_kind(self, obj) -> str | None:
        return measurement_source_kind(getattr(obj, "latest_source", None) or "") or None

    def get_cadence_seconds(self, obj) -> int | None:
        return int(obj.cadence.total_seconds()) if obj.cadence is not None else None

    def get_stale(self, obj) -> bool:
        return metric_is_stale(
            last_measured_at=self.get_last_measured_at(obj),
            cadence=obj.cadence,
            now=timezone.now(),
        )


class MeasurementSerializer(serializers.ModelSerializer):
    metric_key = serializers.CharField(source="metric.key", read_only=True)
    recorded_by = serializers.CharField(
        source="recorded_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = Measurement
        fields = [
            "id",
            "metric_key",
            "value",
            "measured_at",
            "period",
            "source",
            "note",
            "recorded_by",
        ]
        read_only_fields = fields


class MeasurementCreateSerializer(serializers.Serializer):
    metric_key = serializers.CharField(max_length=64)
    # Precision and range are checked by roadmap.services.measurement_record.
    value = serializers.DecimalField(max_digits=None, decimal_places=None)
    measured_at = serializers.DateTimeField(required=False)
    source = serializers.CharField(max_length=100, required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)
    period = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="What the value is about (a month 2026-10, a range); default for an "
        "automatic source: the day measured. An automatic source posting the value its "
        "latest measurement of that period already has records nothing (200, not 201).",
    )
