"""The push API: ``POST /api/v1/ingest/<entity>/`` and ``POST /api/v1/webhooks/<connector>/``.

Thin views: they authenticate and authorise, read the body exactly (Decimal numbers), apply
the Idempotency-Key protocol and call the ingestion engine
(``records.ingestion.services.ingest_records``) or the webhook service.
"""

import re
from functools import partial

from django.db import transaction
from django.urls import path
from django_guid import get_guid
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import exceptions, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from connectors import schema as push_schema
from connectors.authentication import ApiTokenAuthentication, WebhookSignatureAuthentication
from connectors.models import ApiToken, IdempotencyKey
from connectors.parsers import ExactJSONParser, PayloadTooLarge, loads_exact, read_raw_body
from connectors.selectors import connector_by_slug
from connectors.serializers import (
    IngestRequestErrorSerializer,
    IngestResultSerializer,
    WebhookEnvelopeErrorSerializer,
    WebhookEnvelopeSerializer,
    WebhookResultSerializer,
)
from connectors.services import (
    IdempotencyClaimLost,
    connector_webhook_secret,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
    records_pushed,
    request_fingerprint,
    webhook_event_process,
)
from connectors.throttling import WebhookFailureThrottle, WebhookRateThrottle
from connectors.webhooks import SIGNATURE_HEADER, SignatureError, verify_signature
from finhub.core.api import ErrorSerializer
from records.ingestion.retry import run_with_retry
from records.ingestion.services import (
    ENTITY_NAMES,
    MAX_RECORDS_PER_REQUEST,
    Actor,
    IngestRequestError,
    IngestResult,
    WriteContention,
    entity_field_docs,
    ingest_records,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces


class WriteBusy(exceptions.APIException):
    """Every attempt of the write met a deadlock or serialization failure with concurrent
    writes (each retried transparently first). Nothing was written; retrying is safe."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "The records conflicted with concurrent writes and nothing was written; retry after "
        "the Retry-After delay."
    )
    default_code = "write_conflict"
    wait = WriteContention.retry_after  # DRF's handler turns it into Retry-After


class IsApiToken(BasePermission):
    """The push API is for connector API tokens (session users have the admin import)."""

    message = "The push API needs a connector API token (Authorization: Bearer fh_…)."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiToken)


def _require_json(request) -> None:
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise exceptions.UnsupportedMediaType(
            request.content_type or "(none)",
            detail=f"Unsupported media type {request.content_type or '(none)'!r}: "
            "send the records as application/json.",
        )


def _parse_bool(request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise exceptions.ParseError(
        f"Query parameter {name!r} must be true or false, not {raw!r}.", code="invalid_parameter"
    )


ERROR_RESPONSES = {
    400: OpenApiResponse(
        IngestRequestErrorSerializer,
        description="Malformed JSON (the message names the line and column), a body that is "
        "not an array, a duplicate external_id in the request (code duplicate_external_id), "
        "any invalid record with ?atomic=true (code atomic_rejected, with every row's "
        "errors), or an invalid Idempotency-Key. Nothing was written.",
    ),
    401: OpenApiResponse(ErrorSerializer, description="No token, an invalid or a revoked token."),
    403: OpenApiResponse(
        ErrorSerializer,
        description="The token may not write this entity, belongs to another connector "
        "(?source=), has no write grant, or its connector is disabled.",
    ),
    409: OpenApiResponse(
        ErrorSerializer,
        description="A request with this Idempotency-Key is still running; retry later.",
    ),
    413: OpenApiResponse(
        IngestRequestErrorSerializer,
        description=f"More than {MAX_RECORDS_PER_REQUEST} records, or a body over the byte "
        "limit. Nothing was written.",
    ),
    415: OpenApiResponse(ErrorSerializer, description="Content-Type is not application/json."),
    422: OpenApiResponse(
        ErrorSerializer,
        description="This Idempotency-Key was already used with a different request.",
    ),
    429: OpenApiResponse(
        ErrorSerializer, description="Throttled per token; the Retry-After header says when."
    ),
    411: OpenApiResponse(
        ErrorSerializer,
        description="A chunked body (no Content-Length) on a server that cannot delimit it; "
        "send Content-Length.",
    ),
    503: OpenApiResponse(
        ErrorSerializer,
        description="The write kept conflicting with concurrent writes (code "
        "write_conflict); nothing was written. Retry after the Retry-After delay.",
    ),
}


class IngestView(APIView):
    """Upsert one entity's records from the token's connector."""

    authentication_classes = [ApiTokenAuthentication]
    parser_classes = [ExactJSONParser]
    permission_classes = [IsApiToken]
    entity: str = ""

    def post(self, request, entity: str | None = None):
        entity = self.entity or entity or ""
        token: ApiToken = request.auth
        if entity not in ENTITY_NAMES:
            raise exceptions.NotFound(
                f"Unknown entity {entity!r}. Known: {', '.join(ENTITY_NAMES)}.",
                code="unknown_entity",
            )
        connector = token.connector
        source = request.query_params.get("source")
        if source is not None and source != connector.slug:
            raise exceptions.PermissionDenied(
                f"This token belongs to connector {connector.slug!r}; it cannot write to "
                f"{source!r}.",
                code="wrong_connector",
            )
        if not connector.enabled:
            raise exceptions.PermissionDenied(
                f"Connector {connector.slug!r} is disabled.", code="connector_disabled"
            )
        if not token.can_write:
            raise exceptions.PermissionDenied(
                "This token has no write access.", code="write_not_allowed"
            )
        if not token.allows_entity(entity):
            raise exceptions.PermissionDenied(
                f"This token may not write {entity!r} (allowed: "
                f"{', '.join(token.allowed_entities) or 'none'}).",
                code="entity_not_allowed",
            )
        atomic = _parse_bool(request, "atomic")
        _require_json(request)
        raw = read_raw_body(request._request)
        records = loads_exact(raw)
        if not isinstance(records, list):
            raise exceptions.ParseError("Expected a JSON array of records.", code="not_a_list")
        if len(records) > MAX_RECORDS_PER_REQUEST:
            raise PayloadTooLarge(
                f"At most {MAX_RECORDS_PER_REQUEST} records per request; got {len(records)}. "
                "Split the records into several requests.",
                code="too_many_records",
            )

        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            status_code, body = self._ingest(request, token, entity, records, atomic)
            return Response(body, status=status_code)
        if not _IDEMPOTENCY_KEY_RE.fullmatch(key):
            raise exceptions.ParseError(
                f"{IDEMPOTENCY_HEADER} must be 1 to 255 printable ASCII characters without spaces.",
                code="invalid_idempotency_key",
            )
        fingerprint = request_fingerprint(
            method=request.method, full_path=request.get_full_path(), body=raw
        )
        claim = idempotency_claim(token=token, key=key, fingerprint=fingerprint)
        if claim.outcome == "mismatch":
            return Response(
                {
                    "detail": "This Idempotency-Key was already used with a different request "
                    "(method, path or body).",
                    "code": "idempotency_key_reused",
                },
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        if claim.outcome == "in_progress":
            return _in_progress_response()
        if claim.outcome == "replay":
            record: IdempotencyKey = claim.record
            return Response(
                record.response_body,
                status=record.response_status,
                headers={REPLAYED_HEADER: "true"},
            )
        try:
            status_code, body = self._ingest(
                request, token, entity, records, atomic, claim=claim.record
            )
        except IdempotencyClaimLost:
            # This request outlived the claim timeout and a retry took the key over: our
            # writes were rolled back, the retry's response is the one to replay.
            return _in_progress_response()
        except BaseException:
            # Nothing was written (the key completes in the ingest's transaction). If the
            # database itself is gone this fails too: the claim then expires after the claim
            # timeout and a retry takes it over.
            idempotency_release(record=claim.record)
            raise
        return Response(body, status=status_code)

    def _ingest(
        self, request, token, entity, records, atomic, *, claim: IdempotencyKey | None = None
    ) -> tuple[int, dict]:
        """Run the ingest; with a ``claim``, complete its key in the ingest's transaction."""
        actor = Actor(user=None, api_token=token, request_id=get_guid() or "", via="api")

        def write() -> tuple[int, dict, IngestResult | None]:
            with transaction.atomic():
                try:
                    result = ingest_records(
                        source=token.connector,
                        entity=entity,
                        records=records,
                        actor=actor,
                        atomic=atomic,
                    )
                except IngestRequestError as exc:  # nothing written; the refusal is replayed
                    status_code, body, result = _refusal_status(exc), exc.as_dict(), None
                else:
                    status_code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
                    body = result.as_dict()
                if claim is not None:
                    idempotency_complete(record=claim, status=status_code, body=body)
            return status_code, body, result

        try:
            # A deadlock with a concurrent writer: the whole transaction again (key included).
            status_code, body, result = run_with_retry(write)
        except WriteContention as exc:
            raise WriteBusy from exc  # an Idempotency-Key is released: the retry runs again
        if result is not None:
            records_pushed(connector_id=token.connector_id, result=result)
        return status_code, body


def _refusal_status(exc: IngestRequestError) -> int:
    if exc.code == "too_many_records":
        return status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    if exc.code == "unknown_entity":
        return status.HTTP_404_NOT_FOUND
    return status.HTTP_400_BAD_REQUEST


def _in_progress_response() -> Response:
    return Response(
        {
            "detail": "A request with this Idempotency-Key is still being processed; "
            "retry later to get its response.",
            "code": "idempotency_request_in_progress",
        },
        status=status.HTTP_409_CONFLICT,
        headers={"Retry-After": "1"},
    )


def _entity_view(entity: str) -> type[IngestView]:
    docs = entity_field_docs(entity)
    example = push_schema.example_record(entity, docs)
    description = (
        f"Upsert `{entity}` records by (source, external_id); the source is the token's "
        "connector.\n\n"
        "Valid records are created or updated (an identical re-send is `unchanged`); invalid "
        "ones are kept as rejected records and listed in `errors` with their index, "
        "external_id and the reasons per field — the response is still 200/201. "
        "A valid record naming a record FinHub has not received (an account, a customer…) is "
        "stored, counted in `pending` and listed in `waiting` with the field and the id "
        "named; it counts nowhere that needs that record until it arrives. "
        "`?atomic=true` refuses the whole request (400, nothing written) if any record is "
        "invalid.\n\n"
        "Money is read exactly: JSON numbers and strings become decimals without floating "
        "point; more decimals than the field allows, NaN/Infinity or a value too large is a "
        "field error, never rounded. Unknown fields are errors.\n\n"
        f"`{IDEMPOTENCY_HEADER}` (optional, per token, kept 24 h): the same key and body "
        f"replay the first response (header `{REPLAYED_HEADER}: true`) without writing; a "
        "different body gets 422; while the first request runs, 409."
    )

    def post(self, request, *args, **kwargs):
        return IngestView.post(self, request, *args, **kwargs)

    post = extend_schema(
        operation_id=f"ingest_{entity}",
        summary=f"Push {entity}",
        description=description,
        tags=["ingest"],
        parameters=[
            OpenApiParameter(
                "atomic",
                bool,
                description="Refuse the whole request if any record is invalid.",
            ),
            OpenApiParameter(
                "source",
                str,
                description="The connector slug the records belong to; must be the token's "
                "own connector (403 otherwise). Defaults to it.",
            ),
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                str,
                location=OpenApiParameter.HEADER,
                description="Makes retries safe: 1-255 printable ASCII characters.",
            ),
        ],
        request={
            "application/json": push_schema.request_schema(
                docs, max_records=MAX_RECORDS_PER_REQUEST
            )
        },
        responses={
            200: OpenApiResponse(
                IngestResultSerializer, description="Nothing created; counts and row errors."
            ),
            201: OpenApiResponse(
                IngestResultSerializer, description="Some records created; counts and errors."
            ),
            **ERROR_RESPONSES,
        },
        examples=[
            OpenApiExample("One record", value=[example], request_only=True),
            OpenApiExample(
                "Result",
                value={
                    "entity": entity,
                    "created": 1,
                    "updated": 0,
                    "unchanged": 0,
                    "rejected": 1,
                    "pending": 0,
                    "batch_id": 42,
                    "errors": [
                        {
                            "index": 1,
                            "external_id": f"{entity}-1002",
                            "errors": {"external_id": ["Unknown field."]},
                        }
                    ],
                    "waiting": [],
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )(post)
    return type(f"Ingest_{entity}_View", (IngestView,), {"entity": entity, "post": post})


@extend_schema(exclude=True)
class UnknownEntityIngestView(IngestView):
    """Answers a JSON 404 for an entity name the engine does not know."""


class SignedDelivery(BasePermission):
    """Let the request reach the view, which verifies the signature over the raw body.

    (Not AllowAny: that would document the endpoint as needing no authentication.)
    """

    def has_permission(self, request, view) -> bool:
        return True


class WebhookView(APIView):
    """A connector's signed webhook deliveries."""

    authentication_classes = [WebhookSignatureAuthentication]
    permission_classes = [SignedDelivery]
    # Counted in post(): failures per client address, verified deliveries per connector.
    throttle_classes = []
    parser_classes = [ExactJSONParser]

    @extend_schema(
        operation_id="webhook_receive",
        summary="Receive a signed webhook event",
        description=(
            f"A source system announces changes. `{SIGNATURE_HEADER}: t=<unix time>,"
            "v1=<hex HMAC-SHA256 of the connector's webhook secret over `<t>.<raw body>`>`. "
            "A timestamp more than 5 minutes away from the server's time, a missing or wrong "
            "signature gets 401. The body is `{id, type, data}`: `type` is an entity name and "
            "`data` its records (as for the ingest endpoint). An event id already processed "
            "is acknowledged with `duplicate: true` and not applied again. Unverified requests "
            "are limited per client address, verified deliveries per connector (429)."
        ),
        tags=["webhooks"],
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                str,
                location=OpenApiParameter.HEADER,
                required=True,
                description="t=<unix time>,v1=<hex signature>",
            ),
        ],
        request=WebhookEnvelopeSerializer,
        responses={
            200: WebhookResultSerializer,
            400: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="WebhookError",
                    serializers=[WebhookEnvelopeErrorSerializer, IngestRequestErrorSerializer],
                    resource_type_field_name=None,
                ),
                description="Malformed JSON, an invalid envelope (code invalid_envelope, "
                "errors per field) or records refused as a whole (e.g. duplicate_external_id).",
            ),
            401: OpenApiResponse(ErrorSerializer, description="Missing, stale or bad signature."),
            403: OpenApiResponse(ErrorSerializer, description="The connector is disabled."),
            404: OpenApiResponse(
                ErrorSerializer, description="No such connector, or it has no webhook secret."
            ),
            411: ERROR_RESPONSES[411],
            413: ERROR_RESPONSES[413],
            415: ERROR_RESPONSES[415],
            429: OpenApiResponse(
                ErrorSerializer,
                description="Too many unverified requests from this address, or too many "
                "verified deliveries for this connector; the Retry-After header says when.",
            ),
            503: ERROR_RESPONSES[503],
        },
    )
    def post(self, request, slug: str):
        failures = WebhookFailureThrottle()
        if not request.headers.get(SIGNATURE_HEADER) and failures.exhausted(request, self):
            self.throttled(request, failures.wait())  # an unsigned flood: no work at all
        try:
            connector, raw = self._verified(request, slug)
        except exceptions.APIException:
            if failures.record_failure(request, self):
                self.throttled(request, failures.wait())
            raise
        budget = WebhookRateThrottle()
        if not budget.allow_request(request, self):
            self.throttled(request, budget.wait())
        if not connector.enabled:
            raise exceptions.PermissionDenied(
                f"Connector {connector.slug!r} is disabled.", code="connector_disabled"
            )
        envelope = WebhookEnvelopeSerializer(data=loads_exact(raw))
        errors = {} if envelope.is_valid() else dict(envelope.errors)
        if isinstance(envelope.initial_data, dict):
            for key in sorted(set(envelope.initial_data) - set(envelope.fields)):
                errors[str(key)] = ["Unknown field."]
        if not errors and envelope.validated_data["type"] not in ENTITY_NAMES:
            errors["type"] = [f"Unknown entity {envelope.validated_data['type']!r}."]
        if errors:
            return Response(
                {"detail": "Invalid event envelope.", "code": "invalid_envelope", "errors": errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        event_id, entity = envelope.validated_data["id"], envelope.validated_data["type"]
        try:
            # The event id is recorded in the ingest's transaction: the whole of it is retried.
            result = run_with_retry(
                partial(
                    webhook_event_process,
                    connector=connector,
                    event_id=event_id,
                    entity=entity,
                    records=envelope.initial_data["data"],  # as parsed: exact Decimals
                    request_id=get_guid() or "",
                )
            )
        except WriteContention as exc:
            raise WriteBusy from exc
        except IngestRequestError as exc:
            return Response(exc.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "event_id": event_id,
                "duplicate": result is None,
                "result": result.as_dict() if result is not None else None,
            }
        )

    def _verified(self, request, slug: str):
        """The connector and the raw body of a correctly signed delivery, or an APIException.

        An unknown slug and a connector without a secret get the same 404.
        """
        connector = connector_by_slug(slug=slug)
        secret = connector_webhook_secret(connector=connector) if connector else None
        if connector is None or secret is None:
            raise exceptions.NotFound("No webhook endpoint for this connector.", code="not_found")
        _require_json(request)
        raw = read_raw_body(request._request)
        try:
            verify_signature(secret=secret, header=request.headers.get(SIGNATURE_HEADER), body=raw)
        except SignatureError as exc:
            raise exceptions.AuthenticationFailed(str(exc), code="bad_signature") from None
        return connector, raw


router = SimpleRouter()

urlpatterns = [
    *(path(f"ingest/{entity}/", _entity_view(entity).as_view()) for entity in ENTITY_NAMES),
    path("ingest/<str:entity>/", UnknownEntityIngestView.as_view(), name="ingest-unknown"),
    path("webhooks/<slug:slug>/", WebhookView.as_view(), name="webhook"),
    *router.urls,
]
