"""Transient write conflicts (#17): retried transparently a bounded number of times, then
answered 503 with Retry-After by the push API and the webhook — never a 500."""

import json
from unittest import mock

import pytest
from django.db import OperationalError, transaction

from connectors.models import IdempotencyKey, WebhookEvent
from connectors.services import connector_webhook_secret_rotate
from connectors.webhooks import signature_header
from records.ingestion import retry
from records.ingestion.retry import WriteContention, is_transient, run_with_retry
from records.ingestion.upsert import upsert_rows
from records.models import GLLine, IngestBatch
from tests.connectors.helpers import gl_line, make_token, post_json, reset_throttles
from tests.factories import ConnectorFactory

URL = "/api/v1/ingest/gl_lines/"


class FakeDriverError(Exception):
    """What psycopg raises: the SQLSTATE in ``pgcode``."""

    def __init__(self, pgcode: str):
        super().__init__(f"sqlstate {pgcode}")
        self.pgcode = pgcode


def db_error(pgcode: str) -> OperationalError:
    error = OperationalError(f"sqlstate {pgcode}")
    error.__cause__ = FakeDriverError(pgcode)
    return error


DEADLOCK = "40P01"


@pytest.fixture(autouse=True)
def _no_pauses(monkeypatch):
    monkeypatch.setattr(retry.time, "sleep", lambda seconds: None)
    reset_throttles()


@pytest.mark.parametrize(
    ("code", "transient"), [("40P01", True), ("40001", True), ("23505", False)]
)
def test_deadlocks_and_serialization_failures_are_transient(code, transient):
    assert is_transient(db_error(code)) is transient
    assert not is_transient(ValueError("40P01"))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_transient_failure_is_retried_until_it_succeeds():
    work = mock.Mock(side_effect=[db_error(DEADLOCK), db_error("40001"), "done"])
    assert run_with_retry(work) == "done"
    assert work.call_count == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_retries_are_bounded_then_write_contention():
    work = mock.Mock(side_effect=db_error(DEADLOCK))
    with pytest.raises(WriteContention):
        run_with_retry(work, attempts=4)
    assert work.call_count == 4


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_other_database_errors_are_not_retried():
    work = mock.Mock(side_effect=db_error("23505"))
    with pytest.raises(OperationalError):
        run_with_retry(work)
    assert work.call_count == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_inside_a_callers_transaction_the_caller_retries():
    work = mock.Mock(side_effect=db_error(DEADLOCK))
    with pytest.raises(OperationalError), transaction.atomic():
        run_with_retry(work)
    assert work.call_count == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_deadlock_is_retried_transparently_by_the_push_api(client):
    _, plaintext = make_token()
    calls = {"n": 0}

    def deadlock_once(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise db_error(DEADLOCK)
        return upsert_rows(**kwargs)

    with mock.patch("records.ingestion.services.upsert_rows", side_effect=deadlock_once):
        response = post_json(client, URL, [gl_line("a"), gl_line("b")], token=plaintext)

    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    # The failed attempt left nothing behind: one batch, two lines.
    assert IngestBatch.objects.count() == 1
    assert GLLine.objects.count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_write_that_keeps_deadlocking_is_a_503_with_retry_after(client):
    _, plaintext = make_token()
    with mock.patch("records.ingestion.services.upsert_rows", side_effect=db_error(DEADLOCK)):
        response = post_json(client, URL, [gl_line("a")], token=plaintext)
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["code"] == "write_conflict"
    assert IngestBatch.objects.count() == GLLine.objects.count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_after_a_503_the_same_idempotency_key_runs_the_request_again(client):
    _, plaintext = make_token()
    with mock.patch("records.ingestion.services.upsert_rows", side_effect=db_error(DEADLOCK)):
        busy = post_json(client, URL, [gl_line("a")], token=plaintext, HTTP_IDEMPOTENCY_KEY="k")
    assert busy.status_code == 503
    assert not IdempotencyKey.objects.exists()  # released, not stored as the answer

    retried = post_json(client, URL, [gl_line("a")], token=plaintext, HTTP_IDEMPOTENCY_KEY="k")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_webhook_delivery_that_keeps_deadlocking_is_a_503_and_can_be_redelivered(client):
    connector = ConnectorFactory(name="Hooked")
    secret = connector_webhook_secret_rotate(connector=connector)
    body = json.dumps({"id": "evt-1", "type": "gl_lines", "data": [gl_line("a")]}).encode()

    def deliver():
        return client.post(
            f"/api/v1/webhooks/{connector.slug}/",
            data=body,
            content_type="application/json",
            HTTP_X_FINHUB_SIGNATURE=signature_header(secret=secret, body=body),
        )

    with mock.patch("records.ingestion.services.upsert_rows", side_effect=db_error(DEADLOCK)):
        busy = deliver()
    assert busy.status_code == 503
    assert busy["Retry-After"] == "1"
    assert not WebhookEvent.objects.exists()  # the event id was not recorded

    again = deliver()
    assert again.status_code == 200
    assert again.json()["result"]["created"] == 1
