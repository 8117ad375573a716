"""Signed webhooks: the signature check (pure) and POST /api/v1/webhooks/<connector>/."""

import json
import time
from unittest import mock

import pytest

from connectors.models import WebhookEvent
from connectors.services import connector_webhook_secret_rotate
from connectors.webhooks import (
    SignatureError,
    compute_signature,
    signature_header,
    verify_signature,
)
from records.models import IngestBatch, SubscriptionEvent
from tests.factories import ConnectorFactory

SECRET = "whsec_test"
BODY = b'{"id": "evt_1"}'
NOW = 1_790_000_000


# --- the signature, without a database ---------------------------------------------------


def test_a_correct_signature_verifies():
    header = signature_header(secret=SECRET, body=BODY, timestamp=NOW)
    assert verify_signature(secret=SECRET, header=header, body=BODY, now=NOW + 10) == NOW


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    # From: printf '1790000000.{"id": "evt_1"}' | openssl dgst -sha256 -hmac whsec_test
    expected = "b36f4c72cd593b9c0b21f15a9eadcc506bc56028839405b372888a01e8aa7aa1"
    assert compute_signature(secret=SECRET, timestamp=NOW, body=BODY) == expected


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Missing"),
        ("", "Missing"),
        ("garbage", "Malformed"),
        ("t=abc,v1=00", "timestamp"),
        (f"t={NOW}", "must carry"),
        ("v1=00", "must carry"),
        (f"t={NOW},v1=deadbeef", "does not match"),
    ],
)
def test_bad_headers_are_refused(header, message):
    with pytest.raises(SignatureError, match=message):
        verify_signature(secret=SECRET, header=header, body=BODY, now=NOW)


def test_a_tampered_body_or_wrong_secret_is_refused():
    header = signature_header(secret=SECRET, body=BODY, timestamp=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(secret=SECRET, header=header, body=BODY + b" ", now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(secret="whsec_other", header=header, body=BODY, now=NOW)


@pytest.mark.parametrize("offset", [301, -301, 3600])
def test_a_timestamp_more_than_5_minutes_away_is_refused(offset):
    header = signature_header(secret=SECRET, body=BODY, timestamp=NOW)
    with pytest.raises(SignatureError, match="5 minutes"):
        verify_signature(secret=SECRET, header=header, body=BODY, now=NOW + offset)


@pytest.mark.parametrize("offset", [300, -300, 0])
def test_a_timestamp_within_5_minutes_is_accepted(offset):
    header = signature_header(secret=SECRET, body=BODY, timestamp=NOW)
    verify_signature(secret=SECRET, header=header, body=BODY, now=NOW + offset)


def test_one_matching_signature_among_several_is_enough():
    good = compute_signature(secret=SECRET, timestamp=NOW, body=BODY)
    header = f"t={NOW},v1={'0' * 64},v1={good}"
    assert verify_signature(secret=SECRET, header=header, body=BODY, now=NOW) == NOW


def test_signatures_are_compared_in_constant_time():
    header = signature_header(secret=SECRET, body=BODY, timestamp=NOW)
    with mock.patch("connectors.webhooks.hmac.compare_digest", return_value=True) as compare:
        verify_signature(secret=SECRET, header=header, body=BODY, now=NOW)
    compare.assert_called_once()


# --- the endpoint ------------------------------------------------------------------------------


@pytest.fixture
def billing(db):
    connector = ConnectorFactory(name="Billing", kind="billing")
    return connector, connector_webhook_secret_rotate(connector=connector)


def event(event_id="evt_1", data=None, **extra):
    if data is None:
        data = [
            {
                "external_id": "sub-1",
                "customer": "cus-1",
                "occurred_on": "2026-01-05",
                "type": "new",
                "mrr_after": 99.90,
                "currency": "EUR",
            }
        ]
    return {"id": event_id, "type": "subscription_events", "data": data, **extra}


def deliver(client, connector, secret, payload, *, timestamp=None, header=None, body=None):
    body = body if body is not None else json.dumps(payload).encode()
    if header is None:
        header = signature_header(secret=secret, body=body, timestamp=timestamp)
    return client.post(
        f"/api/v1/webhooks/{connector.slug}/",
        data=body,
        content_type="application/json",
        HTTP_X_FINHUB_SIGNATURE=header,
    )


def test_a_signed_event_is_ingested_and_recorded(client, billing):
    connector, secret = billing
    response = deliver(client, connector, secret, event())
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["duplicate"] is False
    assert body["result"]["created"] == 1
    sub = SubscriptionEvent.objects.get()
    assert (sub.source, str(sub.mrr_after)) == (connector, "99.90")
    recorded = WebhookEvent.objects.get()
    assert (recorded.event_id, recorded.batch_id) == ("evt_1", body["result"]["batch_id"])
    assert IngestBatch.objects.get().via == "webhook"


def test_a_replayed_event_id_is_acknowledged_and_ignored(client, billing):
    connector, secret = billing
    assert deliver(client, connector, secret, event()).status_code == 200
    changed = event(data=[{**event()["data"][0], "mrr_after": "150.00"}])
    replay = deliver(client, connector, secret, changed)
    assert replay.status_code == 200
    assert replay.json() == {"event_id": "evt_1", "duplicate": True, "result": None}
    assert str(SubscriptionEvent.objects.get().mrr_after) == "99.90"
    assert IngestBatch.objects.count() == 1


def test_event_ids_are_per_connector(client, billing):
    connector, secret = billing
    other = ConnectorFactory(name="Other billing", kind="billing")
    other_secret = connector_webhook_secret_rotate(connector=other)
    assert deliver(client, connector, secret, event()).json()["duplicate"] is False
    assert deliver(client, other, other_secret, event()).json()["duplicate"] is False


def test_a_stale_signature_is_401_and_nothing_is_written(client, billing):
    connector, secret = billing
    response = deliver(client, connector, secret, event(), timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"
    assert "5 minutes" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("FinHub-Signature")
    assert WebhookEvent.objects.count() == SubscriptionEvent.objects.count() == 0


def test_a_wrong_signature_is_401(client, billing):
    connector, _ = billing
    response = deliver(client, connector, "whsec_guess", event())
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0


def test_a_missing_signature_is_401(client, billing):
    connector, _ = billing
    response = client.post(
        f"/api/v1/webhooks/{connector.slug}/", data=event(), content_type="application/json"
    )
    assert response.status_code == 401


def test_an_unknown_connector_or_one_without_a_secret_is_404(client, billing):
    _, secret = billing
    plain = ConnectorFactory(name="No webhooks")
    assert deliver(client, plain, secret, event()).status_code == 404
    body = json.dumps(event()).encode()
    response = client.post(
        "/api/v1/webhooks/nope/",
        data=body,
        content_type="application/json",
        HTTP_X_FINHUB_SIGNATURE=signature_header(secret=secret, body=body),
    )
    assert response.status_code == 404


def test_a_disabled_connector_is_403(client, billing):
    connector, secret = billing
    connector.enabled = False
    connector.save()
    assert deliver(client, connector, secret, event()).status_code == 403
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "subscription_events", "data": []}, "id"),
        ({"id": "e", "type": "unicorns", "data": []}, "type"),
        ({"id": "e", "type": "subscription_events", "data": {}}, "data"),
        ({"id": "e", "type": "subscription_events", "data": [], "extra": 1}, "extra"),
    ],
)
def test_an_invalid_envelope_is_400(client, billing, payload, field):
    connector, secret = billing
    response = deliver(client, connector, secret, payload)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_envelope"
    assert field in response.json()["errors"]
    assert WebhookEvent.objects.count() == 0


def test_malformed_json_is_400_after_the_signature_check(client, billing):
    connector, secret = billing
    response = deliver(client, connector, secret, None, body=b'{"id": ')
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_an_event_refused_as_a_whole_is_not_recorded_so_a_fixed_resend_applies(client, billing):
    connector, secret = billing
    row = event()["data"][0]
    refused = deliver(client, connector, secret, event(data=[row, row]))
    assert refused.status_code == 400
    assert refused.json()["code"] == "duplicate_external_id"
    assert WebhookEvent.objects.count() == 0
    fixed = deliver(client, connector, secret, event(data=[row]))
    assert fixed.json()["duplicate"] is False


def test_the_event_id_is_recorded_in_the_same_transaction_as_its_effect(client, billing):
    connector, secret = billing
    client.raise_request_exception = False
    with mock.patch("records.ingestion.services.resolve_pending", side_effect=RuntimeError("boom")):
        assert deliver(client, connector, secret, event()).status_code == 500
    # The ingest failed after the event row was inserted: both rolled back together.
    assert WebhookEvent.objects.count() == 0
    assert SubscriptionEvent.objects.count() == 0
    assert deliver(client, connector, secret, event()).json()["duplicate"] is False


def test_deliveries_are_throttled_per_connector(client, billing, monkeypatch):
    from connectors.throttling import WebhookRateThrottle

    monkeypatch.setattr(WebhookRateThrottle, "THROTTLE_RATES", {"webhook": "1/min"})
    # Both deliveries inside one fixed window (a real clock may cross a minute between them).
    monkeypatch.setattr(WebhookRateThrottle, "timer", lambda self: 1_800_000_030.0)
    connector, secret = billing
    assert deliver(client, connector, secret, event("evt_1")).status_code == 200
    throttled = deliver(client, connector, secret, event("evt_2"))
    assert throttled.status_code == 429
    assert "Retry-After" in throttled
    assert WebhookEvent.objects.count() == 1
