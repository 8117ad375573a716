"""The HTTP client against httpx.MockTransport: retries, auth, body checks, counting."""

import base64
from decimal import Decimal

import httpx
import pytest

from connectors.models import Connector
from connectors.sync.errors import ConfigError, SourceAuthError, SourceError, TransientSourceError
from connectors.sync.http import SourceClient, retry_after_seconds

BASE = "http://source.test/api/v1"


class Recorder:
    def __init__(self):
        self.done = []
        self.sleeps = []

    def request_done(self, *, failed):
        self.done.append(failed)

    def before_retry_sleep(self, *, seconds, error):
        self.sleeps.append((seconds, str(error)))


def connector(**fields):
    values = {"name": "Source", "kind": "erp", "transport": "rest_pull", "base_url": BASE}
    values.update(fields)
    return Connector(**values)


def scripted(*responses):
    """A transport answering the given responses (or raising the given exceptions) in turn."""
    seen = []
    queue = list(responses)

    def handler(request):
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.MockTransport(handler), seen


def ok(body=None, **kw):
    return httpx.Response(200, json=body if body is not None else {"data": []}, **kw)


def client(transport, observer=None, credentials=None, sleeps=None, **fields):
    return SourceClient(
        connector(**fields),
        observer=observer,
        transport=transport,
        credentials=credentials or {},
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def test_a_json_body_is_returned_with_exact_decimals():
    transport, seen = scripted(
        httpx.Response(
            200, text='{"data": [{"amount": 12.30}]}', headers={"Content-Type": "application/json"}
        )
    )
    body = client(transport).get_json("gl-lines", {"limit": 2})
    assert body == {"data": [{"amount": Decimal("12.30")}]}
    assert str(seen[0].url) == f"{BASE}/gl-lines?limit=2"


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, text="boom"),
        httpx.Response(503, text="busy"),
        httpx.Response(429, text="slow down"),
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.Response(
            200, text="<html><body>Maintenance</body></html>", headers={"Content-Type": "text/html"}
        ),
        httpx.Response(
            200, text='{"data": [{"id": "1"', headers={"Content-Type": "application/json"}
        ),
        httpx.Response(200, text="", headers={"Content-Type": "application/json"}),
    ],
    ids=["500", "503", "429", "timeout", "refused", "dropped", "html", "truncated", "empty"],
)
def test_transient_failures_are_retried_and_counted(failure):
    observer = Recorder()
    transport, seen = scripted(failure, failure, ok({"data": [1]}))
    body = client(transport, observer).get_json("gl-lines")
    assert body == {"data": [1]}
    assert len(seen) == 3
    assert observer.done == [True, True, False]
    assert len(observer.sleeps) == 2  # heartbeat before each retry sleep


def test_attempts_are_bounded_and_the_message_says_so(settings):
    settings.FINHUB_SYNC_MAX_ATTEMPTS = 4
    observer = Recorder()
    truncated = httpx.Response(200, text='{"data": [', headers={"Content-Type": "application/json"})
    transport, seen = scripted(truncated)
    with pytest.raises(TransientSourceError) as caught:
        client(transport, observer).get_json("gl-lines")
    assert len(seen) == 4
    assert observer.done == [True] * 4
    message = str(caught.value)
    assert (
        "GET /api/v1/gl-lines: the source answered 200 with malformed or truncated JSON" in message
    )
    assert message.endswith("Gave up after 4 attempts.")


def test_an_html_200_is_a_failure_never_zero_records(settings):
    settings.FINHUB_SYNC_MAX_ATTEMPTS = 2
    html = httpx.Response(
        200, text="<!DOCTYPE html><p>down</p>", headers={"Content-Type": "text/html"}
    )
    transport, _ = scripted(html)
    with pytest.raises(TransientSourceError, match="an HTML page instead of JSON"):
        client(transport).get_json("gl-lines")


def test_backoff_grows_exponentially_with_jitter_and_is_capped(settings):
    settings.FINHUB_SYNC_MAX_ATTEMPTS = 6
    settings.FINHUB_SYNC_BACKOFF_SECONDS = 1
    settings.FINHUB_SYNC_BACKOFF_MAX_SECONDS = 5
    sleeps = []
    transport, _ = scripted(httpx.Response(500))
    with pytest.raises(TransientSourceError):
        client(transport, sleeps=sleeps).get_json("x")
    assert len(sleeps) == 5
    # 1, 2, 4, 5 (cap), 5 (cap) seconds, each plus up to 1 s of jitter, never above the cap.
    for wait, floor in zip(sleeps, [1, 2, 4, 5, 5], strict=True):
        assert floor <= wait <= min(floor + 1, 5)


def test_a_429_waits_at_least_the_retry_after(settings):
    settings.FINHUB_SYNC_BACKOFF_SECONDS = 0.01
    settings.FINHUB_SYNC_BACKOFF_MAX_SECONDS = 10
    sleeps = []
    transport, _ = scripted(httpx.Response(429, headers={"Retry-After": "7"}), ok())
    client(transport, sleeps=sleeps).get_json("x")
    assert sleeps == [7.0]


def test_a_retry_after_longer_than_the_cap_fails_the_call_without_sleeping(settings):
    settings.FINHUB_SYNC_BACKOFF_MAX_SECONDS = 10
    sleeps = []
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(
        TransientSourceError, match=r"rate limited \(HTTP 429, Retry-After 3600 s\)"
    ):
        client(transport, sleeps=sleeps).get_json("x")
    assert sleeps == [] and len(seen) == 1


def test_retry_after_as_an_http_date():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_fail_fast_without_retries(status):
    observer = Recorder()
    transport, seen = scripted(httpx.Response(status, json={"detail": "nope"}))
    with pytest.raises(SourceAuthError) as caught:
        client(transport, observer).get_json("x")
    assert caught.value.status_code == status
    assert f"refused the credentials (HTTP {status})" in str(caught.value)
    assert len(seen) == 1 and observer.sleeps == []


def test_other_client_errors_are_permanent():
    transport, seen = scripted(httpx.Response(404, text="no such resource"))
    with pytest.raises(SourceError, match="HTTP 404 from the source: no such resource"):
        client(transport).get_json("x")
    assert len(seen) == 1


def test_bearer_basic_and_api_key_headers():
    transport, seen = scripted(ok())
    client(transport, credentials={"token": "tok-123"}, auth_type="bearer").get_json("x")
    assert seen[-1].headers["Authorization"] == "Bearer tok-123"
    client(transport, credentials={"username": "u", "password": "p"}, auth_type="basic").get_json(
        "x"
    )
    assert seen[-1].headers["Authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    client(
        transport, credentials={"api_key": "key-9"}, auth_type="api_key", auth_header_name="X-Key"
    ).get_json("x")
    assert seen[-1].headers["X-Key"] == "key-9"
    assert "key-9" not in str(seen[-1].url)


def test_missing_credentials_and_credentials_in_the_url_are_config_errors():
    transport, _ = scripted(ok())
    with pytest.raises(ConfigError, match="credentials lack: token"):
        client(transport, auth_type="bearer")
    with pytest.raises(ConfigError, match="must not carry credentials"):
        client(transport, base_url="http://user:pw@source.test/api")


def oauth_source(tokens_refused_after: int | None = None):
    """A source with a token endpoint; its API accepts only the latest token issued."""
    state = {"issued": 0, "calls": []}

    def handler(request):
        state["calls"].append(request)
        if request.url.path == "/oauth/token":
            form = dict(httpx.QueryParams(request.content.decode()))
            if form.get("client_secret") != "s3cret":
                return httpx.Response(401, json={"error": "invalid_client"})
            state["issued"] += 1
            return httpx.Response(
                200, json={"access_token": f"T{state['issued']}", "expires_in": 3600}
            )
        expected = f"Bearer T{state['issued']}"
        if request.headers.get("Authorization") != expected:
            return httpx.Response(401, json={"detail": "bad token"})
        return ok()

    return httpx.MockTransport(handler), state


def oauth_client(transport, secret="s3cret"):
    return client(
        transport,
        credentials={"client_id": "finhub", "client_secret": secret},
        auth_type="oauth2_client_credentials",
        token_url="http://source.test/oauth/token",
    )


def test_oauth2_token_is_fetched_once_and_cached_for_the_run():
    transport, state = oauth_source()
    source = oauth_client(transport)
    source.get_json("a")
    source.get_json("b")
    assert state["issued"] == 1
    token_request = state["calls"][0]
    assert token_request.method == "POST"
    assert "s3cret" not in str(token_request.url)


def test_oauth2_token_is_refreshed_once_on_401():
    transport, state = oauth_source()
    source = oauth_client(transport)
    source.get_json("a")
    state["issued"] += 1  # the source revoked T1 (and will issue T3 next)
    assert source.get_json("b") == {"data": []}
    assert source.auth.fetches == 2


def test_oauth2_refused_client_secret_fails_fast():
    transport, state = oauth_source()
    with pytest.raises(SourceAuthError, match="token endpoint"):
        oauth_client(transport, secret="wrong").get_json("a")
    assert len(state["calls"]) == 1
