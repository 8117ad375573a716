"""Read-only output of the canonical entities (decimals stay strings, DRF's default)."""

from rest_framework import serializers

from records import models as m

# Columns the read API leaves out: internal fingerprints.
EXCLUDED_FIELDS = ("row_hash",)


class SourcedRecordSerializer(serializers.ModelSerializer):
    """Base of every canonical entity's output: the source connector by slug."""

    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)


def serializer_for(model: type) -> type[serializers.ModelSerializer]:
    """The read serializer of a canonical model: every column, references as ids."""
    meta = type("Meta", (), {"model": model, "exclude": EXCLUDED_FIELDS})
    return type(f"{model.__name__}Serializer", (SourcedRecordSerializer,), {"Meta": meta})


class CurrencySerializer(serializers.ModelSerializer):
    class Meta:
        model = m.Currency
        fields = ["code", "name", "minor_units", "active"]


class IngestBatchSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = m.IngestBatch
        fields = [
            "id",
            "source",
            "entity",
            "via",
            "user",
            "api_token",
            "request_id",
            "atomic",
            "dry_run",
            "received",
            "created",
            "updated",
            "unchanged",
            "rejected",
            "started_at",
            "finished_at",
        ]


class RejectedRecordSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = m.RejectedRecord
        fields = [
            "id",
            "source",
            "entity",
            "external_id",
            "payload",
            "errors",
            "batch",
            "received_at",
            "status",
            "resolved_at",
        ]
