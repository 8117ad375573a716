from rest_framework import serializers

from roadmap.models import ChecklistItem, Measurement, Phase, Risk, SuccessMetric, WorkItem
from roadmap.selectors import progress_percent


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
            "work_items",
        ]

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
            "latest_value",
            "latest_measured_at",
        ]
        read_only_fields = fields


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
