"""Rate limits per API token (the ``api_token`` rate in REST_FRAMEWORK's throttle rates)."""

from rest_framework.throttling import SimpleRateThrottle

from connectors.models import ApiToken


class ApiTokenRateThrottle(SimpleRateThrottle):
    """Requests per token per period; session users are not limited by it.

    Exceeding it answers 429 with a Retry-After header (DRF's Throttled).
    """

    scope = "api_token"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class WebhookRateThrottle(SimpleRateThrottle):
    """Webhook deliveries per connector (the ``webhook`` rate)."""

    scope = "webhook"

    def get_cache_key(self, request, view):
        slug = view.kwargs.get("slug")
        if not slug:
            return None
        return self.cache_format % {"scope": self.scope, "ident": slug}
