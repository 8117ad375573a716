"""Webhook throttling: unverified requests per client address, verified ones per connector."""

import json
import threading

import pytest
from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings

from connectors.services import connector_webhook_secret_rotate
from connectors.throttling import (
    AtomicRateThrottle,
    WebhookFailureThrottle,
    WebhookRateThrottle,
)
from connectors.webhooks import signature_header
from records.models import SubscriptionEvent
from tests.factories import ConnectorFactory

ATTACKER = "203.0.113.66"
SENDER = "198.51.100.7"


@pytest.fixture
def billing(db):
    connector = ConnectorFactory(name="Billing", kind="billing")
    return connector, connector_webhook_secret_rotate(connector=connector)


def event(event_id="evt_1"):
    row = {
        "external_id": f"sub-{event_id}",
        "customer": "cus-1",
        "occurred_on": "2026-01-05",
        "type": "new",
        "mrr_after": "99.90",
        "currency": "EUR",
    }
    return {"id": event_id, "type": "subscription_events", "data": [row]}


def post(client, slug, *, secret=None, payload=None, address=ATTACKER, header=None, **extra):
    body = json.dumps(payload if payload is not None else event()).encode()
    if secret is not None:
        header = signature_header(secret=secret, body=body)
    if header is not None:
        extra["HTTP_X_FINHUB_SIGNATURE"] = header
    return client.post(
        f"/api/v1/webhooks/{slug}/",
        data=body,
        content_type="application/json",
        REMOTE_ADDR=address,
        **extra,
    )


@pytest.fixture
def one_window(monkeypatch):
    """Every request in the same rate window: a slow run (700 posts on a loaded machine)
    must not cross a minute boundary, where the fixed window starts counting again."""
    monkeypatch.setattr(AtomicRateThrottle, "_window", lambda self: ("_test", 3600.0))
    # ... and its counters outlive the run (their cache timeout follows the duration).
    parse = AtomicRateThrottle.parse_rate
    monkeypatch.setattr(
        AtomicRateThrottle, "parse_rate", lambda self, rate: (parse(self, rate)[0], 3600)
    )


def test_700_unsigned_posts_do_not_block_the_next_signed_delivery(client, billing, one_window):
    # The reproduction: 700 unsigned POSTs in a burst used to spend the connector's
    # 600/min budget, and the next correctly signed delivery got 429.
    connector, secret = billing
    statuses = [post(client, connector.slug).status_code for _ in range(700)]
    limit = WebhookFailureThrottle().num_requests
    assert statuses[:limit] == [401] * limit
    assert set(statuses[limit:]) == {429}

    signed = post(client, connector.slug, secret=secret, payload=event("evt_a"), address=SENDER)
    assert signed.status_code == 200, signed.json()
    # Even from the attacker's own address: a correct signature is always verified.
    same_address = post(client, connector.slug, secret=secret, payload=event("evt_b"))
    assert same_address.status_code == 200, same_address.json()
    assert SubscriptionEvent.objects.count() == 2


def test_a_blocked_address_gets_429_with_retry_after_and_no_work(
    client, billing, django_assert_num_queries
):
    connector, _ = billing
    for _ in range(WebhookFailureThrottle().num_requests):
        assert post(client, connector.slug).status_code == 401
    with django_assert_num_queries(0):  # not even the connector lookup
        throttled = post(client, connector.slug)
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) >= 1


def test_a_wrong_signature_from_a_blocked_address_is_429(client, billing):
    connector, _ = billing
    for _ in range(WebhookFailureThrottle().num_requests):
        post(client, connector.slug, secret="whsec_guess")
    assert post(client, connector.slug, secret="whsec_guess").status_code == 429


def test_failures_are_counted_per_address(client, billing):
    connector, _ = billing
    for _ in range(WebhookFailureThrottle().num_requests + 1):
        post(client, connector.slug)
    assert post(client, connector.slug).status_code == 429
    assert post(client, connector.slug, address=SENDER).status_code == 401


def test_unverified_requests_do_not_spend_the_connector_budget(client, billing, monkeypatch):
    monkeypatch.setattr(WebhookRateThrottle, "THROTTLE_RATES", {"webhook": "2/min"})
    connector, secret = billing
    for _ in range(10):
        assert post(client, connector.slug, secret="whsec_guess").status_code == 401
    assert post(client, connector.slug, secret=secret, payload=event("e1")).status_code == 200
    assert post(client, connector.slug, secret=secret, payload=event("e2")).status_code == 200
    over = post(client, connector.slug, secret=secret, payload=event("e3"))
    assert over.status_code == 429
    assert "Retry-After" in over


def test_an_unknown_slug_and_a_slug_without_a_secret_answer_identically(client, billing):
    _, secret = billing
    plain = ConnectorFactory(name="No webhooks")

    def answer(slug, address):
        response = post(client, slug, secret=secret, address=address)
        return response.status_code, response.content, response.get("WWW-Authenticate")

    assert answer("nope", ATTACKER) == answer(plain.slug, SENDER)
    assert answer("nope", ATTACKER)[0] == 404
    # Both count as failures of the address, and are throttled alike.
    for _ in range(WebhookFailureThrottle().num_requests):
        post(client, "nope", address=ATTACKER)
        post(client, plain.slug, address=SENDER)
    assert answer("nope", ATTACKER) == answer(plain.slug, SENDER)
    assert answer("nope", ATTACKER)[0] == 429


def test_a_new_forwarded_for_header_per_request_does_not_escape_the_limit(client, billing):
    connector, _ = billing
    statuses = [
        post(client, connector.slug, HTTP_X_FORWARDED_FOR=f"10.0.{i // 250}.{i % 250}").status_code
        for i in range(WebhookFailureThrottle().num_requests + 5)
    ]
    assert statuses[-1] == 429


@override_settings(FINHUB_TRUSTED_PROXIES=1)
def test_behind_a_trusted_proxy_the_forwarded_client_is_the_address(client, billing):
    connector, _ = billing
    proxy = "10.0.0.1"

    def through_proxy(client_address):
        # The client may send its own X-Forwarded-For; the proxy appends what it saw.
        return post(
            client,
            connector.slug,
            address=proxy,
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, {client_address}",
        ).status_code

    for _ in range(WebhookFailureThrottle().num_requests):
        assert through_proxy(ATTACKER) == 401
    assert through_proxy(ATTACKER) == 429
    assert through_proxy(SENDER) == 401  # another client behind the same proxy


# --- the counter under concurrency ----------------------------------------------------------


class SlowCache:
    """A local-memory cache whose reads and writes take a while, as a network cache's do.

    It widens the gap between reading a counter and writing it back: a throttle that counts
    by read-modify-write loses increments; one that uses ``add`` + ``incr`` does not.
    """

    def __init__(self):
        self.inner = LocMemCache("slow-throttle-test", {})

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def get(self, *args, **kwargs):
        value = self.inner.get(*args, **kwargs)
        threading.Event().wait(0.001)
        return value

    def set(self, *args, **kwargs):
        threading.Event().wait(0.001)
        return self.inner.set(*args, **kwargs)


class FakeView:
    kwargs = {"slug": "billing"}


def hammer(throttle_class, *, threads: int, per_thread: int) -> list[bool]:
    barrier = threading.Barrier(threads)
    results: list[bool] = []
    lock = threading.Lock()

    def worker():
        barrier.wait()
        mine = [throttle_class().allow_request(None, FakeView()) for _ in range(per_thread)]
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return results


@pytest.fixture
def frozen_window(monkeypatch):
    """One throttle window for the whole test, whatever the clock does meanwhile."""
    monkeypatch.setattr(AtomicRateThrottle, "timer", staticmethod(lambda: 1_790_000_030.0))


def test_concurrent_deliveries_are_counted_exactly(monkeypatch, frozen_window):
    cache = SlowCache()
    monkeypatch.setattr(WebhookRateThrottle, "cache", cache)
    monkeypatch.setattr(WebhookRateThrottle, "THROTTLE_RATES", {"webhook": "100/min"})
    results = hammer(WebhookRateThrottle, threads=8, per_thread=40)
    assert len(results) == 320
    assert results.count(True) == 100  # not one more got through
    throttle = WebhookRateThrottle()
    key = throttle.get_cache_key(None, FakeView())
    assert throttle.count(key) == 320  # every request counted


def test_each_concurrent_hit_gets_its_own_count(monkeypatch, frozen_window):
    monkeypatch.setattr(WebhookRateThrottle, "cache", SlowCache())
    throttle = WebhookRateThrottle()
    counts: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def worker():
        barrier.wait()
        mine = [throttle.hit("throttle_test_key") for _ in range(50)]
        with lock:
            counts.extend(mine)

    workers = [threading.Thread(target=worker) for _ in range(6)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert sorted(counts) == list(range(1, 301))


def test_a_new_window_starts_a_new_count(monkeypatch):
    now = [1_790_000_000.0]
    monkeypatch.setattr(AtomicRateThrottle, "timer", staticmethod(lambda: now[0]))
    monkeypatch.setattr(WebhookRateThrottle, "THROTTLE_RATES", {"webhook": "2/min"})
    throttle = WebhookRateThrottle()
    assert [throttle.allow_request(None, FakeView()) for _ in range(3)] == [True, True, False]
    assert 1 <= throttle.wait() <= 60
    now[0] += 60
    assert throttle.allow_request(None, FakeView())


@pytest.mark.skipif(not settings.REDIS_URL, reason="REDIS_URL is not set")
def test_concurrent_deliveries_are_counted_exactly_in_redis(monkeypatch, frozen_window):
    # The shared cache of a deployment: every web process counts in the same Redis key.
    from django.core.cache import caches

    from tests.connectors.helpers import reset_throttles

    reset_throttles()
    monkeypatch.setattr(WebhookRateThrottle, "cache", caches["default"])
    monkeypatch.setattr(WebhookRateThrottle, "THROTTLE_RATES", {"webhook": "100/min"})
    results = hammer(WebhookRateThrottle, threads=8, per_thread=40)
    assert results.count(True) == 100
    throttle = WebhookRateThrottle()
    assert throttle.count(throttle.get_cache_key(None, FakeView())) == 320
    reset_throttles()
