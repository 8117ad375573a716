"""The HTTP client syncs use to read a source: httpx with timeouts, tenacity retries.

Every GET is tried at most ``FINHUB_SYNC_MAX_ATTEMPTS`` times. Retried: 5xx, 429 (waiting
at least the Retry-After the source asked for), timeouts, dropped connections, and a 200
whose body is not JSON (an HTML error page, a truncated body): such a page is a failure,
never "0 records". Between attempts the wait grows exponentially from
``FINHUB_SYNC_BACKOFF_SECONDS`` up to ``FINHUB_SYNC_BACKOFF_MAX_SECONDS``, plus random
jitter so that many workers do not retry in step. 401/403 are never retried.

An ``observer`` (the running sync) is told about every attempt (run.requests and
run.request_failures) and before every retry sleep (it heartbeats and extends its lease, so
a long backoff never looks like a dead worker).

Every logical call (a GET with all its attempts) is also counted for API reliability
(``calls.py``): the counts are buffered per day and added to ``SourceCallDay`` once, when
the client closes, so a sync of a thousand pages writes one row, not a thousand.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils import timezone
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.wait import wait_base

from connectors.credentials import credentials_get
from connectors.models import Connector
from connectors.services import source_calls_record

from .auth import auth_for
from .calls import CallTally
from .errors import ConfigError, SourceAuthError, SourceError, TransientSourceError

logger = logging.getLogger(__name__)

USER_AGENT = "FinHub-sync/1"
# How much of an error body is quoted in a message (sources put the reason there).
_QUOTE = 200


class RequestObserver(Protocol):
    def request_done(self, *, failed: bool) -> None: ...

    def before_retry_sleep(self, *, seconds: float, error: Exception) -> None: ...


class wait_retry_after(wait_base):
    """Wait what the fallback strategy says, or longer when the source's Retry-After says so."""

    def __init__(self, fallback: wait_base):
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        backoff = self.fallback(retry_state)
        error = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        return max(float(retry_after), backoff) if retry_after is not None else backoff


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _quote(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text if len(text) <= _QUOTE else text[:_QUOTE] + "…"


def _where(request: httpx.Request) -> str:
    # The path only: the query (cursor, updated_since) is noise in a one-line message.
    return f"GET {request.url.path}"


def response_json(response: httpx.Response) -> Any:
    """The JSON body of a response, or the error that classifies it (see the module doc)."""
    where = _where(response.request)
    status = response.status_code
    if status in (401, 403):
        raise SourceAuthError(
            f"The source refused the credentials (HTTP {status}) on {where}.", status_code=status
        )
    if status == 429:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        wait = f", Retry-After {retry_after:g} s" if retry_after is not None else ""
        raise TransientSourceError(
            f"{where}: rate limited (HTTP 429{wait}).", status_code=429, retry_after=retry_after
        )
    if status >= 500:
        raise TransientSourceError(
            f"{where}: HTTP {status} from the source.",
            status_code=status,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    if status >= 400:
        raise SourceError(
            f"{where}: HTTP {status} from the source: {_quote(response)}", status_code=status
        )
    if status != 200:
        raise SourceError(f"{where}: unexpected HTTP {status} from the source.", status_code=status)
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    body = response.content
    if "html" in content_type or body.lstrip()[:1] == b"<":
        raise TransientSourceError(
            f"{where}: the source answered 200 with an HTML page instead of JSON.", status_code=200
        )
    if "json" not in content_type:
        raise TransientSourceError(
            f"{where}: the source answered 200 with {content_type or 'no Content-Type'} "
            "instead of JSON.",
            status_code=200,
        )
    try:
        # Amounts stay exact: JSON numbers with a fraction become Decimals, never floats.
        return json.loads(body, parse_float=Decimal)
    except ValueError as exc:
        raise TransientSourceError(
            f"{where}: the source answered 200 with malformed or truncated JSON "
            f"({len(body)} bytes; {exc}).",
            status_code=200,
        ) from None


def _retryable(error: BaseException) -> bool:
    if not isinstance(error, TransientSourceError):
        return False
    # A source asking for a longer pause than we ever wait is not retried within this run:
    # sleeping that long would hold a worker (and look dead to the reaper).
    return (
        error.retry_after is None or error.retry_after <= settings.FINHUB_SYNC_BACKOFF_MAX_SECONDS
    )


class SourceClient:
    """Reads JSON from one connector's source. Use as a context manager (closes the pool)."""

    def __init__(
        self,
        connector: Connector,
        *,
        observer: RequestObserver | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        credentials: dict | None = None,
    ):
        base_url = (connector.base_url or "").strip()
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"Connector {connector.name!r}: base URL {base_url!r} is not an http(s) URL."
            )
        if parts.username or parts.password:
            # httpx logs URLs: a password in one would end up in the logs.
            raise ConfigError(
                f"Connector {connector.name!r}: the base URL must not carry credentials; "
                "set them in the connector's credentials instead."
            )
        self.connector = connector
        self.observer = observer
        self._sleep = sleep
        self.calls = CallTally()
        self.auth = auth_for(
            connector, credentials if credentials is not None else credentials_get(connector)
        )
        self.client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            auth=self.auth,
            timeout=httpx.Timeout(settings.FINHUB_SYNC_TIMEOUT_SECONDS),
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            follow_redirects=False,
            transport=transport,
        )

    def __enter__(self) -> SourceClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()
        self._calls_flush()

    def _calls_flush(self) -> None:
        """Add the buffered call counts to the connector's days; a failure to write them is
        logged with how many calls go uncounted, never raised: close() runs while a sync's
        own error propagates (often the same database outage), which it must not replace."""
        days = self.calls.take()
        if not days or self.connector.pk is None:
            return
        try:
            source_calls_record(connector_id=self.connector.pk, days=days)
        except Exception:
            logger.exception(
                "sync %s: %d API calls not counted in API reliability",
                self.connector.slug,
                sum(counts.calls for counts in days.values()),
            )

    # --- one attempt ---------------------------------------------------------------------

    def _attempt(self, path: str, params: dict | None) -> Any:
        failed = True
        try:
            try:
                response = self.client.get(path.lstrip("/"), params=params)
            except httpx.TimeoutException as exc:
                raise TransientSourceError(
                    f"GET {self._path(path)}: timed out after "
                    f"{settings.FINHUB_SYNC_TIMEOUT_SECONDS:g} s ({type(exc).__name__})."
                ) from None
            except httpx.TransportError as exc:
                # Refused or dropped connections, a response cut short, protocol errors.
                raise TransientSourceError(
                    f"GET {self._path(path)}: connection failed ({type(exc).__name__}: {exc})."
                ) from None
            body = response_json(response)
            failed = False
            return body
        finally:
            if self.observer is not None:
                self.observer.request_done(failed=failed)

    def _count(self, error: BaseException | None, attempts: int) -> None:
        self.calls.record(error, attempts=attempts, day=timezone.localdate())

    def _path(self, path: str) -> str:
        return self.client.base_url.path.rstrip("/") + "/" + path.lstrip("/")

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        seconds = retry_state.next_action.sleep if retry_state.next_action else 0.0
        logger.info(
            "sync %s: attempt %d failed (%s); retrying in %.2f s",
            self.connector.slug,
            retry_state.attempt_number,
            error,
            seconds,
        )
        if self.observer is not None and error is not None:
            self.observer.before_retry_sleep(seconds=seconds, error=error)

    # --- the public call -------------------------------------------------------------------

    def get_json(self, path: str, params: dict | None = None, *, retries: bool = True) -> Any:
        """GET ``path`` (relative to the base URL) and return its JSON body, retrying transient
        failures. Raises a SyncError subclass; a transient one that outlived every attempt
        says how many attempts were made."""
        attempts = settings.FINHUB_SYNC_MAX_ATTEMPTS if retries else 1
        base = settings.FINHUB_SYNC_BACKOFF_SECONDS
        retrying = Retrying(
            stop=stop_after_attempt(max(1, attempts)),
            wait=wait_retry_after(
                wait_exponential_jitter(
                    multiplier=base, max=settings.FINHUB_SYNC_BACKOFF_MAX_SECONDS, jitter=base
                )
            ),
            retry=retry_if_exception(_retryable),
            before_sleep=self._before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        body: Any = None
        try:
            for attempt in retrying:
                with attempt:
                    body = self._attempt(path, params)
        except TransientSourceError as exc:
            tried = retrying.statistics.get("attempt_number", 1)
            self._count(exc, tried)
            raise TransientSourceError(
                f"{exc} Gave up after {tried} attempt{'s' if tried != 1 else ''}.",
                status_code=exc.status_code,
                retry_after=exc.retry_after,
            ) from exc
        except Exception as exc:
            # An interrupt (KeyboardInterrupt, SystemExit) is not an outcome: not counted.
            self._count(exc, retrying.statistics.get("attempt_number", 1))
            raise
        self._count(None, retrying.statistics.get("attempt_number", 1))
        return body
