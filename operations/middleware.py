"""Request timing: every request's server time, per endpoint, into the process's histograms.

The endpoint is the resolved URL's route name (``dashboards:executive``, ``gl-lines-list``)
or, for a route without a name, its pattern (``api/v1/ingest/<str:entity>/``): never the raw
path, so ids in URLs cannot grow the number of histograms. Requests that resolve to no
route are "(unmatched)", static files "(static)".

The histograms are flushed to the database (operations.services.request_timings_flush) by
the request that finds the last flush older than FINHUB_TIMING_FLUSH_SECONDS, after its
response is produced, and at process exit; between flushes a request costs a lock and a
few additions, no query.
"""

import atexit
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from operations.recorder import RECORDER

logger = logging.getLogger(__name__)

UNMATCHED = "(unmatched)"
STATIC = "(static)"
EXPORT_SUFFIX = " (export)"
READ_METHODS = frozenset({"GET", "HEAD"})
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The /api/v1/ reads that are financial data: the records (GL lines, deals, spend, …) and
# the metrics engine's results (metrics, forecasts, anomalies). The roadmap and connectors
# APIs are not financial data; the dashboards' pages and exports are in their namespace.
FINANCIAL_API_APPS = frozenset({"records", "metrics"})
FINANCIAL_NAMESPACE = "dashboards"
API_ROUTE_PREFIX = "api/v1/"

_exit_flush_registered = False


def _view_app(func: Callable[..., object]) -> str:
    """The app a view belongs to (Django class-based views and DRF viewsets alike)."""
    view = getattr(func, "view_class", None) or getattr(func, "cls", None) or func
    return view.__module__.split(".", 1)[0]


def classify(request: HttpRequest, status: int) -> tuple[str, bool]:
    """The endpoint a request is timed under, and whether it was a financial data query:
    a dashboard page or export, or a records/metrics API read, that was answered (2xx) or
    failed (5xx). Redirects (to the login page) and refusals (4xx) answered no query."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        static_prefix = "/" + settings.STATIC_URL.lstrip("/")
        return (STATIC if request.path.startswith(static_prefix) else UNMATCHED), False
    endpoint = match.view_name if match.url_name else match.route
    in_dashboards = FINANCIAL_NAMESPACE in match.namespaces
    if in_dashboards and "format" in request.GET:
        endpoint += EXPORT_SUFFIX  # exports are slower than their page: kept apart
    financial_route = in_dashboards or (
        match.route.startswith(API_ROUTE_PREFIX) and _view_app(match.func) in FINANCIAL_API_APPS
    )
    answered = status < 300 or status >= 500
    financial = financial_route and answered and request.method in READ_METHODS
    return endpoint[:200], financial


def method_of(request: HttpRequest) -> str:
    """The HTTP method, any unusual one as "OTHER" (clients choose it: keeps keys bounded)."""
    return request.method if request.method in KNOWN_METHODS else "OTHER"


def flush_at_exit() -> None:
    from operations.services import request_timings_flush

    try:
        request_timings_flush()
    except Exception:  # exiting anyway: say what was lost
        logger.exception("request timings not stored at exit")


class RequestTimingMiddleware:
    """Times each request from the moment it reaches FinHub's middleware to its response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        global _exit_flush_registered
        self.get_response = get_response
        if settings.FINHUB_TIMING_FLUSH_AT_EXIT and not _exit_flush_registered:
            atexit.register(flush_at_exit)
            _exit_flush_registered = True

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        start = time.perf_counter()
        response = self.get_response(request)
        ms = (time.perf_counter() - start) * 1000
        try:
            endpoint, financial = classify(request, response.status_code)
            RECORDER.record(
                endpoint=endpoint,
                method=method_of(request),
                financial=financial,
                ms=ms,
                error=response.status_code >= 500,
            )
            if RECORDER.flush_due(settings.FINHUB_TIMING_FLUSH_SECONDS):
                self._flush()
        except Exception:  # timing must never cost a request its response
            logger.exception("request timing failed")
        return response

    @staticmethod
    def _flush() -> None:
        from operations.services import request_timings_flush

        lock = RECORDER.flushing()
        if not lock.acquire(blocking=False):
            return  # another thread of this process is flushing
        try:
            request_timings_flush()
        finally:
            lock.release()
