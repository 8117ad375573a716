"""Read API of the canonical data: one read-only endpoint per ingestible entity.

``GET /api/v1/<entity>/`` lists with filters (records/filters.py), ``?ordering=`` and
pagination: cursor pagination for the big, growing tables (stable under inserts, no COUNT),
page numbers for the small ones. ``GET /api/v1/<entity>/<id>/`` retrieves one. Session users
need the model's view permission (the default permission classes); API tokens need their
read grant (connectors.authentication.ApiTokenPrincipal), which reads only the token's own
connector and the entities it allows unless the token holds wider reads (TokenReadScopeMixin).
"""

from django.db import models
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.pagination import CursorPagination
from rest_framework.routers import SimpleRouter

from finhub.core.api import ErrorSerializer
from records import models as m
from records.filters import filterset_for
from records.ingestion.entities import ENTITIES
from records.serializers import (
    CurrencySerializer,
    IngestBatchSerializer,
    RejectedRecordSerializer,
    serializer_for,
)

# Tables that grow with every sync: cursor pagination (constant cost per page, no COUNT).
CURSOR_PAGINATED = frozenset(
    {"gl_lines", "touchpoints", "campaign_spend", "deals", "subscription_events", "invoices"}
)


class NewestFirstCursorPagination(CursorPagination):
    """Newest rows first by id (unique, indexed); ``?ordering=`` may choose another order."""

    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


READ_ERRORS = {
    400: OpenApiResponse(
        description="An invalid filter value: {parameter: [messages]}.",
    ),
    401: OpenApiResponse(ErrorSerializer, description="No credentials, or an invalid token."),
    403: OpenApiResponse(
        ErrorSerializer,
        description="A user without the view permission, a token without read access, or a "
        "token that may not read this entity.",
    ),
    429: OpenApiResponse(
        ErrorSerializer, description="Throttled per token; Retry-After says when."
    ),
}
READ_NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="No such record, or one of another connector than the token's."
)
INVALID_CURSOR = OpenApiResponse(ErrorSerializer, description="An invalid cursor.")


class TokenReadScopeMixin:
    """Limits an API token to its own connector's rows and the entities it allows.

    The principal of a token request says what it may read (``read_source_ids``,
    ``read_entities``; None: everything); session users have neither and are limited by
    their model permissions only. Rows of another connector are simply not there (404), an
    entity the token may not read is refused (403).
    """

    read_entity: str | None = None  # the entity this viewset serves, if it serves one
    filter_read_entities = False  # rows carry an ``entity`` column to scope by

    def _read_scope(self) -> tuple[frozenset | None, frozenset | None]:
        user = getattr(getattr(self, "request", None), "user", None)
        return getattr(user, "read_source_ids", None), getattr(user, "read_entities", None)

    def check_permissions(self, request):
        super().check_permissions(request)
        _, entities = self._read_scope()
        if self.read_entity and entities is not None and self.read_entity not in entities:
            self.permission_denied(
                request,
                message=f"This token may not read {self.read_entity!r} "
                f"(allowed: {', '.join(sorted(entities)) or 'none'}).",
                code="entity_not_allowed",
            )

    def get_queryset(self):
        queryset = super().get_queryset()
        sources, entities = self._read_scope()
        if sources is not None:
            queryset = queryset.filter(source_id__in=sources)
        if entities is not None and self.filter_read_entities:
            queryset = queryset.filter(entity__in=entities)
        return queryset


def _ordering_fields(model: type) -> list[str]:
    names = ["id"]
    for field in model._meta.concrete_fields:
        if isinstance(field, models.DateField | models.DecimalField) or field.name in (
            "external_id",
            "name",
            "code",
        ):
            names.append(field.name)
    return names


def _select_related(model: type) -> list[str]:
    return ["source"] if any(f.name == "source" for f in model._meta.concrete_fields) else []


def viewset_for(entity: str, model: type) -> type[viewsets.ReadOnlyModelViewSet]:
    label = model._meta.verbose_name_plural
    ordering = list(model._meta.ordering or [])
    if "id" not in ordering and "-id" not in ordering:
        ordering.append("id")  # a total order, so page-number pages are stable
    attrs = {
        "queryset": model.objects.select_related(*_select_related(model)).order_by(*ordering),
        "serializer_class": serializer_for(model),
        "filterset_class": filterset_for(model),
        "ordering_fields": _ordering_fields(model),
        "read_entity": entity,
        "__doc__": f"Read {label} ({entity}).",
    }
    if entity in CURSOR_PAGINATED:
        attrs["pagination_class"] = NewestFirstCursorPagination
    viewset = type(
        f"{model.__name__}ViewSet", (TokenReadScopeMixin, viewsets.ReadOnlyModelViewSet), attrs
    )
    serializer = attrs["serializer_class"]
    return extend_schema_view(
        list=extend_schema(
            responses={
                200: serializer(many=True),
                **READ_ERRORS,
                **({404: INVALID_CURSOR} if entity in CURSOR_PAGINATED else {}),
            },
            summary=f"List {label}",
            description=f"{model.__doc__.strip()}\n\nFilters: see the parameters. "
            + (
                "Cursor-paginated: follow `next`; `page_size` up to 1000."
                if entity in CURSOR_PAGINATED
                else "Paginated by page number."
            ),
            tags=[entity],
        ),
        retrieve=extend_schema(
            responses={200: serializer, **READ_ERRORS, 404: READ_NOT_FOUND},
            summary=f"Retrieve one of {label}",
            tags=[entity],
        ),
    )(viewset)


class CurrencyViewSet(viewsets.ReadOnlyModelViewSet):
    """ISO 4217 currencies FinHub accepts."""

    queryset = m.Currency.objects.all()
    serializer_class = CurrencySerializer
    filterset_fields = ["active"]
    ordering_fields = ["code"]


class IngestBatchViewSet(TokenReadScopeMixin, viewsets.ReadOnlyModelViewSet):
    """Who wrote what: one row per ingest request, import, sync or webhook."""

    filter_read_entities = True

    queryset = m.IngestBatch.objects.select_related("source")
    serializer_class = IngestBatchSerializer
    filterset_class = filterset_for(m.IngestBatch)
    ordering_fields = ["id", "started_at"]
    pagination_class = NewestFirstCursorPagination


class RejectedRecordViewSet(TokenReadScopeMixin, viewsets.ReadOnlyModelViewSet):
    """Records refused by validation, with their reasons per field."""

    filter_read_entities = True

    queryset = m.RejectedRecord.objects.select_related("source")
    serializer_class = RejectedRecordSerializer
    filterset_class = filterset_for(m.RejectedRecord)
    ordering_fields = ["id", "received_at"]
    pagination_class = NewestFirstCursorPagination


router = SimpleRouter()
for _entity, _spec in ENTITIES.items():
    router.register(_entity, viewset_for(_entity, _spec.model), basename=_entity)
router.register("currencies", CurrencyViewSet, basename="currencies")
router.register("ingest-batches", IngestBatchViewSet, basename="ingest-batches")
router.register("rejected-records", RejectedRecordViewSet, basename="rejected-records")

urlpatterns = router.urls
