"""Idempotency-Key when the database goes away mid-request (found by `make fault-test`,
scenario "restart PostgreSQL mid-ingest").

The key is completed in the ingest's own transaction, so a crash leaves both the rows and the
completed key (the retry replays the response) or neither. In the second case the claim stays
``in_progress`` (releasing it failed too, the database being gone): a retry made after
FINHUB_IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS takes the claim over and runs the ingest; sooner, it
is 409 as for a request still running. Either way every line is stored once.
"""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

import connectors.api
import connectors.services
from connectors.models import IdempotencyKey, WebhookEvent
from connectors.services import (
    IdempotencyClaimLost,
    _idempotency_take_over,
    connector_webhook_secret_rotate,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
    request_fingerprint,
)
from connectors.webhooks import signature_header
from records.models import GLLine, IngestBatch, SubscriptionEvent
from tests.connectors.helpers import gl_line, make_token, post_json
from tests.factories import ConnectorFactory

URL = "/api/v1/ingest/gl_lines/"


def post(client, records, plaintext, key="crash-1"):
    return post_json(client, URL, records, token=plaintext, HTTP_IDEMPOTENCY_KEY=key)


def database_gone(**kwargs):
    raise OperationalError("server closed the connection unexpectedly")


def age_claims(minutes: float) -> None:
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(minutes=minutes))


@pytest.mark.django_db
@pytest.mark.parametrize("crash_at", ["while_completing_the_key", "during_the_ingest"])
def test_a_crash_before_the_commit_stores_nothing_and_a_later_retry_runs_once(
    client, monkeypatch, crash_at
):
    _, plaintext = make_token()
    if crash_at == "while_completing_the_key":
        monkeypatch.setattr(connectors.api, "idempotency_complete", database_gone)
    else:
        monkeypatch.setattr(connectors.api, "ingest_records", database_gone)
    monkeypatch.setattr(connectors.api, "idempotency_release", database_gone)
    client.raise_request_exception = False
    assert post(client, [gl_line("a", "12.34")], plaintext).status_code == 500
    # Both or neither: the claim is left in progress, and no row was stored.
    assert IdempotencyKey.objects.get().status == IdempotencyKey.Status.IN_PROGRESS
    assert GLLine.objects.count() == IngestBatch.objects.count() == 0

    monkeypatch.undo()
    # Within the claim timeout the first request might still be running: 409 as always.
    age_claims(0.5)
    early = post(client, [gl_line("a", "12.34")], plaintext)
    assert (early.status_code, early.json()["code"]) == (409, "idempotency_request_in_progress")

    # Ten minutes later no request with this key can be running: the retry takes over.
    age_claims(10)
    retry = post(client, [gl_line("a", "12.34")], plaintext)
    assert retry.status_code == 201, retry.json()
    assert "Idempotent-Replayed" not in retry
    assert str(GLLine.objects.get(external_id="a").amount) == "12.34"
    assert IngestBatch.objects.count() == 1
    key = IdempotencyKey.objects.get()
    assert (key.status, key.response_body) == (IdempotencyKey.Status.DONE, retry.json())
    assert key.expires_at - key.created_at >= timedelta(hours=24)
    assert timezone.now() - key.created_at < timedelta(minutes=1)  # the takeover renewed it

    again = post(client, [gl_line("a", "12.34")], plaintext)
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")


@pytest.mark.django_db
def test_a_crash_after_the_commit_keeps_the_batch_and_the_retry_replays_it(client, monkeypatch):
    _, plaintext = make_token()
    # The transaction committed; the connection died before the answer reached the client.
    monkeypatch.setattr(connectors.api, "records_pushed", database_gone)
    monkeypatch.setattr(connectors.api, "idempotency_release", database_gone)
    client.raise_request_exception = False
    assert post(client, [gl_line("a", "12.34")], plaintext).status_code == 500
    key = IdempotencyKey.objects.get()
    assert (key.status, key.response_status) == (IdempotencyKey.Status.DONE, 201)
    assert GLLine.objects.count() == 1

    monkeypatch.undo()
    retry = post(client, [gl_line("a", "12.34")], plaintext)
    assert (retry.status_code, retry["Idempotent-Replayed"]) == (201, "true")
    assert retry.json()["created"] == 1
    assert GLLine.objects.count() == IngestBatch.objects.count() == 1


@pytest.mark.django_db
def test_the_claim_timeout_is_a_setting(client, settings):
    token, plaintext = make_token()
    settings.FINHUB_IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS = 3600
    body = json.dumps([gl_line("a")])
    # The state a request that died leaves: a claimed key, no response.
    IdempotencyKey.objects.create(
        token=token,
        key="crash-1",
        fingerprint=request_fingerprint(method="POST", full_path=URL, body=body.encode()),
    )

    def send():
        return post_json(
            client, URL, None, raw=body, token=plaintext, HTTP_IDEMPOTENCY_KEY="crash-1"
        )

    age_claims(59)
    assert send().status_code == 409
    age_claims(61)
    assert send().status_code == 201
    assert GLLine.objects.count() == 1


@pytest.mark.django_db
def test_of_two_retries_of_a_stale_claim_exactly_one_takes_it_over():
    token, _ = make_token()
    died = idempotency_claim(token=token, key="k", fingerprint="f").record
    age_claims(10)
    # Two retries read the same stale claim; the conditional UPDATE lets one renew it.
    seen_by_one, seen_by_other = IdempotencyKey.objects.get(), IdempotencyKey.objects.get()
    assert _idempotency_take_over(record=seen_by_one, now=timezone.now())
    assert not _idempotency_take_over(record=seen_by_other, now=timezone.now())
    assert IdempotencyKey.objects.get().created_at == seen_by_one.created_at
    # Through the service: a stale claim is taken over, a fresh one is in progress (409).
    age_claims(10)
    assert idempotency_claim(token=token, key="k", fingerprint="f").outcome == "claimed"
    assert idempotency_claim(token=token, key="k", fingerprint="f").outcome == "in_progress"
    # The request that died can neither complete nor release the claim it lost.
    with pytest.raises(IdempotencyClaimLost):
        idempotency_complete(record=died, status=201, body={})
    idempotency_release(record=died)
    assert IdempotencyKey.objects.get().status == IdempotencyKey.Status.IN_PROGRESS


@pytest.mark.django_db
def test_a_request_whose_claim_was_taken_over_rolls_back_and_answers_409(client, monkeypatch):
    """The first request ran past the claim timeout and a retry took its key over meanwhile:
    the first one's rows are rolled back (the retry's run is the one kept) and it answers 409.
    """
    token, plaintext = make_token()
    real_ingest = connectors.api.ingest_records
    takeovers = []

    def ingest_outliving_its_claim(**kwargs):
        result = real_ingest(**kwargs)
        age_claims(10)  # ... a long time passes, and a retry arrives
        fingerprint = IdempotencyKey.objects.get().fingerprint
        takeovers.append(idempotency_claim(token=token, key="crash-1", fingerprint=fingerprint))
        return result

    monkeypatch.setattr(connectors.api, "ingest_records", ingest_outliving_its_claim)
    response = post(client, [gl_line("a")], plaintext)

    assert [claim.outcome for claim in takeovers] == ["claimed"]
    assert (response.status_code, response.json()["code"]) == (
        409,
        "idempotency_request_in_progress",
    )
    assert GLLine.objects.count() == IngestBatch.objects.count() == 0
    # Not released: the key stays claimed (a test has one connection, so the retry's
    # takeover, made inside the first request's transaction, was rolled back with it).
    assert IdempotencyKey.objects.get().status == IdempotencyKey.Status.IN_PROGRESS


@pytest.mark.django_db
def test_a_webhook_event_crashing_mid_ingest_is_not_recorded_so_the_redelivery_applies(
    client, monkeypatch
):
    """Webhooks record the event id in the ingest's transaction (no in-progress state): a
    crash after the rows were written rolls back the rows and the id together."""
    connector = ConnectorFactory(name="Billing", kind="billing")
    secret = connector_webhook_secret_rotate(connector=connector)
    payload = {
        "id": "evt_crash",
        "type": "subscription_events",
        "data": [
            {
                "external_id": "sub-1",
                "customer": "cus-1",
                "occurred_on": "2026-01-05",
                "type": "new",
                "mrr_after": "99.90",
                "currency": "EUR",
            }
        ],
    }
    body = json.dumps(payload).encode()

    def deliver():
        return client.post(
            f"/api/v1/webhooks/{connector.slug}/",
            data=body,
            content_type="application/json",
            HTTP_X_FINHUB_SIGNATURE=signature_header(secret=secret, body=body),
        )

    # records_pushed runs last inside the transaction, after the rows and the event's result.
    monkeypatch.setattr(connectors.services, "records_pushed", database_gone)
    client.raise_request_exception = False
    assert deliver().status_code == 500
    assert WebhookEvent.objects.count() == SubscriptionEvent.objects.count() == 0

    monkeypatch.undo()
    redelivery = deliver()
    assert redelivery.status_code == 200
    assert redelivery.json()["duplicate"] is False
    assert deliver().json()["duplicate"] is True
    assert SubscriptionEvent.objects.count() == WebhookEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_retry_taking_over_a_running_claim_on_another_connection_is_the_only_write(
    monkeypatch,
):
    """Real connections (PostgreSQL): the first request is still writing when its claim times
    out and a retry takes the key over; the first rolls back at completion (409), the retry's
    ingest waits for it and is the one stored and replayed."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers: the retry's takeover waits for the first write")
    _, plaintext = make_token()
    real_ingest = connectors.api.ingest_records
    wrote, release = threading.Event(), threading.Event()

    def first_one_holds(**kwargs):
        result = real_ingest(**kwargs)
        if not wrote.is_set():
            wrote.set()
            assert release.wait(30)
        return result

    monkeypatch.setattr(connectors.api, "ingest_records", first_one_holds)
    responses = {}

    def send(name):
        try:
            responses[name] = post(Client(), [gl_line("a")], plaintext)
        finally:
            connection.close()

    first = threading.Thread(target=send, args=("first",))
    first.start()
    assert wrote.wait(30)
    age_claims(10)
    stale = IdempotencyKey.objects.get().created_at
    retry = threading.Thread(target=send, args=("retry",))
    retry.start()
    deadline = time.monotonic() + 30
    while IdempotencyKey.objects.get().created_at == stale and time.monotonic() < deadline:
        time.sleep(0.05)  # until the retry's takeover is committed
    release.set()
    first.join(30)
    retry.join(30)

    assert responses["first"].status_code == 409
    assert responses["retry"].status_code == 201
    assert GLLine.objects.count() == IngestBatch.objects.count() == 1
    key = IdempotencyKey.objects.get()
    assert (key.status, key.response_body) == (
        IdempotencyKey.Status.DONE,
        responses["retry"].json(),
    )
