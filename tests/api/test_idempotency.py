"""Idempotency-Key on the push API: replay, different body, in progress, crash, expiry."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

import connectors.api
from connectors.models import IdempotencyKey
from connectors.services import idempotency_keys_purge, request_fingerprint
from connectors.tasks import idempotency_keys_purge_expired
from records.models import GLLine, IngestBatch
from tests.connectors.helpers import gl_line, make_token, post_json

URL = "/api/v1/ingest/gl_lines/"


def post(client, records, plaintext, key="key-1", url=URL):
    return post_json(client, url, records, token=plaintext, HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_same_key_and_body_replays_the_first_response_without_writing(client):
    _, plaintext = make_token()
    first = post(client, [gl_line("a"), gl_line("b", "1.001")], plaintext)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first

    second = post(client, [gl_line("a"), gl_line("b", "1.001")], plaintext)
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert IngestBatch.objects.count() == 1
    assert GLLine.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_a_different_body_is_422_and_writes_nothing(client):
    _, plaintext = make_token()
    assert post(client, [gl_line("a")], plaintext).status_code == 201
    response = post(client, [gl_line("a", "2.00")], plaintext)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert GLLine.objects.get().amount == 100
    assert IngestBatch.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_another_query_string_is_a_different_request(client):
    _, plaintext = make_token()
    assert post(client, [gl_line("a")], plaintext).status_code == 201
    response = post(client, [gl_line("a")], plaintext, url=URL + "?atomic=true")
    assert response.status_code == 422


@pytest.mark.django_db
def test_a_refused_request_is_replayed_too(client):
    _, plaintext = make_token()
    records = [gl_line("a"), gl_line("a")]
    first = post(client, records, plaintext)
    assert first.status_code == 400
    second = post(client, records, plaintext)
    assert (second.status_code, second["Idempotent-Replayed"]) == (400, "true")
    assert second.json() == first.json()


@pytest.mark.django_db
def test_keys_are_scoped_to_the_token(client):
    token_a, plaintext_a = make_token()
    _, plaintext_b = make_token(token_a.connector, name="other")
    assert post(client, [gl_line("a")], plaintext_a).status_code == 201
    other = post(client, [gl_line("b")], plaintext_b)
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert IngestBatch.objects.count() == 2


@pytest.mark.django_db
def test_a_request_while_the_first_is_running_is_409(client):
    token, plaintext = make_token()
    body = f"[{__import__('json').dumps(gl_line('a'))}]"
    # The state a concurrent first request leaves while it runs: a claimed key, no response.
    IdempotencyKey.objects.create(
        token=token,
        key="key-1",
        fingerprint=request_fingerprint(method="POST", full_path=URL, body=body.encode()),
    )
    response = post_json(client, URL, None, raw=body, token=plaintext, HTTP_IDEMPOTENCY_KEY="key-1")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_request_in_progress"
    assert response["Retry-After"] == "1"
    assert IngestBatch.objects.count() == 0


@pytest.mark.django_db
def test_a_crash_releases_the_key_so_a_retry_runs(client, monkeypatch):
    _, plaintext = make_token()

    def crash(**kwargs):
        raise RuntimeError("worker died")

    monkeypatch.setattr(connectors.api, "ingest_records", crash)
    client.raise_request_exception = False
    assert post(client, [gl_line("a")], plaintext).status_code == 500
    assert IdempotencyKey.objects.count() == 0

    monkeypatch.undo()
    retry = post(client, [gl_line("a")], plaintext)
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry


@pytest.mark.django_db
def test_an_expired_key_no_longer_binds(client):
    _, plaintext = make_token()
    assert post(client, [gl_line("a")], plaintext).status_code == 201
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(client, [gl_line("a", "5.00")], plaintext)
    assert response.status_code == 200
    assert response.json()["updated"] == 1


@pytest.mark.django_db
def test_keys_are_kept_at_least_24_hours_then_purged(client):
    _, plaintext = make_token()
    post(client, [gl_line("a")], plaintext, key="old")
    post(client, [gl_line("b")], plaintext, key="new")
    record = IdempotencyKey.objects.get(key="old")
    assert record.expires_at - record.created_at >= timedelta(hours=24)
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(1))

    assert idempotency_keys_purge_expired() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert idempotency_keys_purge(now=timezone.now() + timedelta(hours=25)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "naïve"])
def test_an_invalid_key_is_400(client, key):
    _, plaintext = make_token()
    response = post(client, [gl_line("a")], plaintext, key=key)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert IngestBatch.objects.count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("held", ["after_the_claim", "inside_the_write"])
def test_two_concurrent_requests_with_one_key_run_once(monkeypatch, held):
    """Real threads and connections: the second request arrives while the first is running,
    before its write transaction or inside it (the key is completed in that transaction)."""
    if held == "inside_the_write" and connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers: the second request waits for the lock")
    _, plaintext = make_token()
    entered = threading.Event()
    release = threading.Event()
    real_ingest = connectors.api.ingest_records
    real_claim = connectors.api.idempotency_claim

    def claim_then_hold(**kwargs):
        claim = real_claim(**kwargs)
        if claim.outcome == "claimed":
            entered.set()
            assert release.wait(30)
        return claim

    def slow_ingest(**kwargs):
        entered.set()
        assert release.wait(30)
        return real_ingest(**kwargs)

    if held == "after_the_claim":
        monkeypatch.setattr(connectors.api, "idempotency_claim", claim_then_hold)
    else:
        monkeypatch.setattr(connectors.api, "ingest_records", slow_ingest)
    responses = {}

    def send(name):
        try:
            responses[name] = post(Client(), [gl_line("a")], plaintext)
        finally:
            connection.close()

    first = threading.Thread(target=send, args=("first",))
    first.start()
    assert entered.wait(30)
    second = threading.Thread(target=send, args=("second",))
    second.start()
    second.join(30)
    release.set()
    first.join(30)

    assert responses["second"].status_code == 409
    assert responses["first"].status_code == 201
    replay = post(Client(), [gl_line("a")], plaintext)
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")
    assert IngestBatch.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_claims_let_exactly_one_request_run(monkeypatch):
    """Both requests start together: the unique INSERT lets one claim the key."""
    _, plaintext = make_token()
    barrier = threading.Barrier(2, timeout=30)
    release = threading.Event()
    real_claim = connectors.api.idempotency_claim

    def claim_together(**kwargs):
        barrier.wait()
        claim = real_claim(**kwargs)
        if claim.outcome == "claimed":  # the winner runs once the loser has answered
            assert release.wait(30)
        return claim

    monkeypatch.setattr(connectors.api, "idempotency_claim", claim_together)
    responses = []

    def send():
        try:
            responses.append(post(Client(), [gl_line("a")], plaintext))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    # The loser answers 409 without waiting; then let the winner finish.
    deadline = timezone.now() + timedelta(seconds=30)
    while not responses and timezone.now() < deadline:
        threading.Event().wait(0.05)
    release.set()
    for thread in threads:
        thread.join(30)

    assert sorted(r.status_code for r in responses) == [201, 409]
    assert IngestBatch.objects.count() == 1
    assert GLLine.objects.count() == 1
