"""Reads for connectors."""

from connectors.models import ApiToken, Connector


def api_token_by_prefix(*, prefix: str) -> ApiToken | None:
    return ApiToken.objects.select_related("connector").filter(prefix=prefix).first()


def connector_by_slug(*, slug: str) -> Connector | None:
    return Connector.objects.filter(slug=slug).first()
