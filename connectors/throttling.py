"""Rate limits of the push API, counted atomically in the shared cache.

Rates come from REST_FRAMEWORK's ``DEFAULT_THROTTLE_RATES``: ``api_token`` (per token),
``webhook`` (verified deliveries per connector) and ``webhook_failure`` (unverified webhook
requests per client address). Exceeding one answers 429 with a Retry-After header.

DRF's own throttles keep a list of timestamps that each request reads, extends and writes
back: concurrent requests overwrite each other and undercount. These count in fixed windows
with ``cache.add`` + ``cache.incr``, which are atomic in Redis and in the local-memory cache,
so N concurrent requests count exactly N. (A fixed window may let up to twice the rate
through across a window boundary; the limits are sized with that in mind.)
"""

import math

from rest_framework.throttling import SimpleRateThrottle

from connectors.models import ApiToken
from finhub.core.client_address import client_address


class AtomicRateThrottle(SimpleRateThrottle):
    """At most ``num_requests`` per ``duration``-second window and key, counted atomically."""

    cache_format = "throttle_%(scope)s_%(ident)s"

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        return self.hit(self.key) <= self.num_requests

    def _window(self) -> tuple[str, float]:
        """The current window's cache-key suffix and the seconds until it ends."""
        self.now = self.timer()
        window = int(self.now // self.duration)
        return f"_{window}", (window + 1) * self.duration - self.now

    def hit(self, key: str) -> int:
        """Count one request under ``key``; returns the window's count including it."""
        suffix, _ = self._window()
        window_key = key + suffix
        # The key outlives its window a little so a late incr never meets an expired key.
        timeout = self.duration + 5
        for _attempt in range(2):
            self.cache.add(window_key, 0, timeout)
            try:
                return self.cache.incr(window_key)
            except ValueError:  # evicted between add and incr: add it again
                continue
        return 1  # the cache keeps losing the key: do not lock the caller out for that

    def count(self, key: str) -> int:
        """The current window's count under ``key``, without counting a request."""
        suffix, _ = self._window()
        return int(self.cache.get(key + suffix, 0))

    def wait(self) -> float:
        _, remaining = self._window()
        return max(1, math.ceil(remaining))


class ApiTokenRateThrottle(AtomicRateThrottle):
    """Requests per token per period; session users are not limited by it."""

    scope = "api_token"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class WebhookRateThrottle(AtomicRateThrottle):
    """Verified webhook deliveries per connector (the ``webhook`` rate).

    The webhook view counts a delivery only once its signature verified, so requests nobody
    signed cannot spend a connector's budget.
    """

    scope = "webhook"

    def get_cache_key(self, request, view):
        slug = view.kwargs.get("slug")
        if not slug:
            return None
        return self.cache_format % {"scope": self.scope, "ident": slug}


class WebhookFailureThrottle(AtomicRateThrottle):
    """Unverified webhook requests per client address (the ``webhook_failure`` rate).

    Unknown connectors, connectors without a secret, missing or wrong signatures and bodies
    refused before the signature check all count. Once an address is over the rate, its
    unsigned requests get 429 before any work; a signed request is still verified, so a
    sender that shares an address with an attacker keeps getting through.
    """

    scope = "webhook_failure"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}

    def exhausted(self, request, view) -> bool:
        """Whether this address already spent its failures for the window (counts nothing)."""
        if self.rate is None:
            return False
        return self.count(self.get_cache_key(request, view)) >= self.num_requests

    def record_failure(self, request, view) -> bool:
        """Count one failure; returns whether the address is now over the rate."""
        if self.rate is None:
            return False
        return self.hit(self.get_cache_key(request, view)) > self.num_requests
