"""API token authentication: ``Authorization: Bearer fh_<prefix>_<secret>``.

A token authenticates as an :class:`ApiTokenPrincipal` (``request.user``) with the token as
``request.auth``. The principal is not a Django user: it holds no permission except, when
the token has read access, ``view_*`` on the canonical data (the ``records`` app), so the
project's default permission classes work unchanged for reads and refuse everything else.
A read grant covers the token's own connector and the entities it allows
(``read_source_ids`` / ``read_entities``, applied by the read API); the ``read.all`` scope
widens it to every connector and entity and to the computed metrics ("view dashboards"),
which are figures across every connector.
Writes go through token-aware views (ingestion) that check ``request.auth`` themselves.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from connectors.models import ApiToken
from connectors.selectors import api_token_by_prefix
from connectors.services import api_token_touch, token_matches, token_split

# Apps whose view_* permissions a token with read access holds, and the other permissions
# a token with wider reads holds (the computed metrics, /api/v1/metrics/…, need "view
# dashboards").
READABLE_APPS = frozenset({"records"})
READ_PERMISSIONS = frozenset({"core.view_dashboards"})
# The scope that widens a read grant beyond the token's connector and entities.
READ_ALL_SCOPE = "read.all"


class ApiTokenPrincipal:
    """``request.user`` for a token request: authenticated, but with no user behind it.

    Code that needs a real user (a foreign key) must look at ``request.auth`` instead.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, token: ApiToken):
        self.token = token
        self.username = f"api-token:{token.prefix}"

    def __str__(self) -> str:
        return self.username

    def get_username(self) -> str:
        return self.username

    @property
    def reads_everything(self) -> bool:
        return self.token.has_scope(READ_ALL_SCOPE)

    @property
    def read_source_ids(self) -> frozenset[int] | None:
        """The connectors whose records this token may read; None: every connector."""
        return None if self.reads_everything else frozenset({self.token.connector_id})

    @property
    def read_entities(self) -> frozenset[str] | None:
        """The entities this token may read; None: every entity."""
        return None if self.reads_everything else frozenset(self.token.allowed_entities or [])

    def has_perm(self, perm: str, obj=None) -> bool:
        if not (self.token.is_active and self.token.can_read):
            return False
        if perm in READ_PERMISSIONS:
            return self.reads_everything
        app_label, _, codename = perm.partition(".")
        return app_label in READABLE_APPS and codename.startswith("view_")

    def has_perms(self, perm_list, obj=None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        return self.token.can_read and app_label in READABLE_APPS

    def get_all_permissions(self, obj=None) -> set:
        return set()


class ApiTokenAuthentication(BaseAuthentication):
    """Bearer API tokens (connectors.ApiToken), compared by hash in constant time."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: expected 'Bearer fh_<prefix>_<secret>'."
            )
        try:
            plaintext = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API token.") from None
        parts = token_split(plaintext)
        if parts is None:
            raise exceptions.AuthenticationFailed(
                "Malformed API token: expected 'fh_<prefix>_<secret>'."
            )
        prefix, secret = parts
        token = api_token_by_prefix(prefix=prefix)
        if token is None or not token_matches(token=token, secret=secret):
            raise exceptions.AuthenticationFailed("Invalid API token.")
        if token.revoked_at is not None:
            # Not when: that is for the admin's eyes, not for whoever holds the token.
            raise exceptions.AuthenticationFailed("This API token has been revoked.")
        api_token_touch(token=token)
        return ApiTokenPrincipal(token), token

    def authenticate_header(self, request) -> str:
        # Makes unauthenticated API requests answer 401 (not 403) with this challenge.
        return 'Bearer realm="FinHub API"'


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "connectors.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "fh_<prefix>_<secret>",
            "description": (
                "A per-connector API token, created in the admin (shown once). It writes only "
                "to its own connector and the entities it allows; its read grant reads the "
                f"same connector and entities (the {READ_ALL_SCOPE!r} scope: every connector, "
                "every entity and the computed metrics). Revoked tokens get 401. Requests "
                "are throttled per token (429 with Retry-After)."
            ),
        }


class WebhookSignatureAuthentication(BaseAuthentication):
    """Marks the webhook endpoint as signature-authenticated (its 401 challenge, OpenAPI).

    The view verifies the signature itself: it needs the connector and the raw body.
    """

    def authenticate(self, request):
        return None

    def authenticate_header(self, request) -> str:
        return 'FinHub-Signature realm="webhooks"'


class WebhookSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "connectors.authentication.WebhookSignatureAuthentication"
    name = "webhookSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-FinHub-Signature",
            "description": (
                "t=<unix time>,v1=<hex HMAC-SHA256 over '<t>.<raw body>' with the connector's "
                "webhook secret>; at most 5 minutes old."
            ),
        }
