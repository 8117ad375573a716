"""Output shapes of the push and webhook endpoints (documentation and validation).

The ingest request body is documented per entity from the engine's field specs
(``connectors.schema``); these are the responses and the webhook envelope.
"""

from rest_framework import serializers

from finhub.core.api import ErrorSerializer


class RowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the record in the request array.")
    external_id = serializers.CharField(allow_null=True)
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name -> reasons (non_field_errors for the record as a whole).",
    )


class WaitingReferenceSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the record in the request array.")
    external_id = serializers.CharField()
    field = serializers.CharField(help_text="The reference field, e.g. account.")
    reference = serializers.CharField(
        help_text="The external_id it names, not found among the connector's records nor its "
        "reference sources' (yet)."
    )


class IngestResultSerializer(serializers.Serializer):
    entity = serializers.CharField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField(help_text="Stored as rejected records with the reasons.")
    pending = serializers.IntegerField(
        help_text="Records stored with a reference to a record FinHub has not received: they "
        "count nowhere that needs it (a ledger line without its account is in no report) "
        "until that record arrives. Listed in `waiting`."
    )
    batch_id = serializers.IntegerField(allow_null=True)
    errors = RowErrorSerializer(many=True)
    waiting = WaitingReferenceSerializer(
        many=True, help_text="Each pending reference: the record, the field and the id named."
    )


class IngestRequestErrorSerializer(ErrorSerializer):
    """The request as a whole was refused and nothing was written."""

    errors = RowErrorSerializer(many=True, required=False)


class WebhookEnvelopeSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200, help_text="The sender's event id (deduplicated).")
    type = serializers.CharField(help_text="The entity the records are, e.g. subscription_events.")
    data = serializers.ListField(
        child=serializers.DictField(), max_length=5000, help_text="The records, as for ingest."
    )


class WebhookEnvelopeErrorSerializer(ErrorSerializer):
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class WebhookResultSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    duplicate = serializers.BooleanField(
        help_text="True when this event id was already processed: nothing was written."
    )
    result = IngestResultSerializer(allow_null=True)
