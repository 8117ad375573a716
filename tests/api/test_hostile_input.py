"""Hostile input on the write paths (#17): no request costs more than its size suggests, and
no JSON value yields a 5xx — each case through the push API and the signed webhook."""

import io
import json
import time

import pytest

from connectors.services import connector_webhook_secret_rotate
from connectors.webhooks import signature_header
from records.ingestion.entities import ENTITY_NAMES
from records.models import Budget, GLLine, IngestBatch, RejectedRecord
from tests.connectors.helpers import bearer, gl_line, make_token, post_json
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db

BUDGETS = "/api/v1/ingest/budgets/"
GL_LINES = "/api/v1/ingest/gl_lines/"
# Generous: the point is seconds versus milliseconds (the sink took 24.5 s per row).
FAST = 1.0


@pytest.fixture
def token(client):
    plaintext = make_token(entities=ENTITY_NAMES)[1]
    # The first request of a process imports the URLconf and the views: not what is timed.
    # (Not an array: refused before anything is written.)
    post_json(client, BUDGETS, {}, token=plaintext)
    return plaintext


@pytest.fixture
def hook(client):
    connector = ConnectorFactory(name="Hooked")
    secret = connector_webhook_secret_rotate(connector=connector)
    body = b"{}"  # signed, an invalid envelope: warms the view up and writes nothing
    client.post(
        f"/api/v1/webhooks/{connector.slug}/",
        data=body,
        content_type="application/json",
        HTTP_X_FINHUB_SIGNATURE=signature_header(secret=secret, body=body),
    )
    return connector, secret


def deliver(client, hook, entity: str, raw_records: str, event_id: str = "evt-1"):
    """A signed webhook delivery whose ``data`` is ``raw_records`` (raw JSON text)."""
    connector, secret = hook
    body = f'{{"id": "{event_id}", "type": "{entity}", "data": {raw_records}}}'.encode()
    return client.post(
        f"/api/v1/webhooks/{connector.slug}/",
        data=body,
        content_type="application/json",
        HTTP_X_FINHUB_SIGNATURE=signature_header(secret=secret, body=body),
    )


def field_errors(body: dict) -> dict[str, list[str]]:
    """Row index -> the fields in error, from an ingest result or an atomic refusal."""
    return {e["index"]: sorted(e["errors"]) for e in body["errors"]}


# --- 2. CPU sink: numbers bounded before conversion --------------------------------------------

# Short texts for huge numbers: each is read as a Decimal and must be refused by its range,
# before anything converts it to an int or quantizes it.
HUGE_NUMBERS = ["1e1000000", "-1e1000000", "1E+999999999", "1e-999999999", "1.5E+99999999999"]
# Longer than any field takes: refused by the parser before conversion.
OVERLONG_NUMBERS = ["9" * 5000, "0." + "0" * 5000 + "1", "1" * 101, "1e99999999999999999999"]


def budgets_raw(value: str, rows: int = 4) -> str:
    return json.dumps(
        [{"external_id": f"B{i}", "name": "b", "fiscal_year": "HUGE"} for i in range(rows)]
    ).replace('"HUGE"', value)


@pytest.mark.parametrize("value", [v for v in HUGE_NUMBERS if v != "1e-999999999"])
def test_a_huge_fiscal_year_is_a_fast_field_error_through_the_api(client, token, value):
    started = time.perf_counter()
    response = post_json(client, BUDGETS, None, raw=budgets_raw(value), token=token)
    elapsed = time.perf_counter() - started

    assert elapsed < FAST, f"{elapsed:.2f} s for 4 rows"
    assert response.status_code == 200, response.content[:300]
    assert field_errors(response.json()) == {i: ["fiscal_year"] for i in range(4)}
    assert Budget.objects.count() == 0


@pytest.mark.parametrize("value", HUGE_NUMBERS)
def test_a_huge_fiscal_year_is_a_fast_refusal_with_atomic(client, token, value):
    started = time.perf_counter()
    response = post_json(
        client, BUDGETS + "?atomic=true", None, raw=budgets_raw(value), token=token
    )
    assert time.perf_counter() - started < FAST
    assert response.status_code == 400
    assert response.json()["code"] == "atomic_rejected"
    assert IngestBatch.objects.count() == 0


@pytest.mark.parametrize("value", HUGE_NUMBERS)
def test_a_huge_fiscal_year_is_a_fast_field_error_through_the_webhook(client, hook, value):
    started = time.perf_counter()
    response = deliver(client, hook, "budgets", budgets_raw(value))
    assert time.perf_counter() - started < FAST
    assert response.status_code == 200, response.content[:300]
    assert response.json()["result"]["rejected"] == 4
    assert Budget.objects.count() == 0


@pytest.mark.parametrize(
    "value", [*HUGE_NUMBERS, '"1e1000000"', '"1e-999999999"', f'"{"9" * 100}"', f'"{"9" * 5000}"']
)
def test_a_huge_amount_is_a_fast_field_error(client, token, value):
    raw = json.dumps([gl_line(f"g{i}", "HUGE") for i in range(4)]).replace('"HUGE"', value)
    started = time.perf_counter()
    response = post_json(client, GL_LINES, None, raw=raw, token=token)
    assert time.perf_counter() - started < FAST
    assert response.status_code == 200
    assert field_errors(response.json()) == {i: ["amount"] for i in range(4)}


@pytest.mark.parametrize("value", OVERLONG_NUMBERS)
@pytest.mark.parametrize("field", ["fiscal_year", "name"])
def test_an_overlong_numeral_is_a_fast_parse_error(client, token, hook, value, field):
    raw = json.dumps([{"external_id": "B1", "name": "b", "fiscal_year": 2026, field: "N"}])
    raw = raw.replace('"N"', value)
    started = time.perf_counter()
    response = post_json(client, BUDGETS, None, raw=raw, token=token)
    webhook = deliver(client, hook, "budgets", raw)
    assert time.perf_counter() - started < FAST
    for answer in (response, webhook):
        assert answer.status_code == 400
        assert answer.json()["code"] == "parse_error"
    assert IngestBatch.objects.count() == 0


# --- 3. no 500 from any JSON value ---------------------------------------------------------------

OVERFLOWING = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]


@pytest.mark.parametrize("updated_at", OVERFLOWING)
def test_a_datetime_out_of_range_is_a_field_error(client, token, updated_at):
    response = post_json(client, GL_LINES, [gl_line("g1", updated_at=updated_at)], token=token)
    assert response.status_code == 200
    assert response.json()["errors"][0]["errors"] == {"updated_at": ["Date-time is out of range."]}
    assert GLLine.objects.count() == 0


@pytest.mark.parametrize("updated_at", OVERFLOWING)
def test_a_datetime_out_of_range_with_atomic_is_a_400(client, token, updated_at):
    records = [gl_line("ok"), gl_line("g1", updated_at=updated_at)]
    response = post_json(client, GL_LINES + "?atomic=true", records, token=token)
    assert response.status_code == 400
    assert field_errors(response.json()) == {1: ["updated_at"]}
    assert GLLine.objects.count() == 0


@pytest.mark.parametrize("updated_at", OVERFLOWING)
def test_a_datetime_out_of_range_with_an_idempotency_key_and_its_retry(client, token, updated_at):
    records = [gl_line("g1", updated_at=updated_at)]
    first = post_json(client, GL_LINES, records, token=token, HTTP_IDEMPOTENCY_KEY="k-1")
    retry = post_json(client, GL_LINES, records, token=token, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert RejectedRecord.objects.count() == 1


@pytest.mark.parametrize("updated_at", OVERFLOWING)
def test_a_datetime_out_of_range_through_the_webhook(client, hook, updated_at):
    raw = json.dumps([gl_line("g1", updated_at=updated_at)])
    response = deliver(client, hook, "gl_lines", raw)
    assert response.status_code == 200
    assert response.json()["result"]["rejected"] == 1


@pytest.mark.parametrize(
    "value",
    [
        "--5",
        "²",
        "\u0662\u0660\u0662\u0666",  # Arabic-Indic digits
        "\u06f2\u06f0\u06f2\u06f6",  # Extended Arabic-Indic digits
        "\uff12\uff10\uff12\uff16",  # full-width digits
        "2026\u0660",
        "+2026",
        "2_026",
        " 2026.0",
        "",
    ],
)
def test_a_fiscal_year_that_is_not_ascii_digits_is_a_field_error(client, token, value):
    record = {"external_id": "B1", "name": "b", "fiscal_year": value}
    for url in (BUDGETS, BUDGETS + "?atomic=true"):
        response = post_json(client, url, [record], token=token)
        assert response.status_code in (200, 400)
        assert field_errors(response.json()) == {0: ["fiscal_year"]}
    assert Budget.objects.count() == 0


def test_ascii_digits_are_still_a_fiscal_year(client, token):
    records = [
        {"external_id": "B1", "name": "b", "fiscal_year": " 2026 "},
        {"external_id": "B2", "name": "b", "fiscal_year": 2027},
        {"external_id": "B3", "name": "b", "fiscal_year": 2.028e3},
    ]
    response = post_json(client, BUDGETS, records, token=token)
    assert response.status_code == 201, response.json()
    assert sorted(Budget.objects.values_list("fiscal_year", flat=True)) == [2026, 2027, 2028]


@pytest.mark.parametrize(
    "amount", ["\u0663.\u0665\u0660", "1_000.00", "\uff11.00", "1,5", "0x10", "1e", ".", "-"]
)
def test_an_amount_that_is_not_an_ascii_number_is_a_field_error(client, token, amount):
    response = post_json(client, GL_LINES, [gl_line("g1", amount)], token=token)
    assert field_errors(response.json()) == {0: ["amount"]}


@pytest.mark.parametrize(
    ("amount", "stored"),
    [(" 12.5 ", "12.50"), ("+3", "3.00"), ("1.2e3", "1200.00"), ("5.", "5.00")],
)
def test_ascii_amount_spellings_still_accepted(client, token, amount, stored):
    response = post_json(client, GL_LINES, [gl_line("g1", amount)], token=token)
    assert response.status_code == 201, response.json()
    assert str(GLLine.objects.get().amount) == stored


def test_an_amount_with_more_digits_than_decimal_arithmetic_holds_is_a_field_error(client, token):
    # 30 whole digits and 3 decimals: quantizing it to cents needs 32 digits of precision.
    response = post_json(client, GL_LINES, [gl_line("g1", "1" * 30 + ".001")], token=token)
    assert field_errors(response.json()) == {0: ["amount"]}


def test_a_reference_longer_than_its_column_is_a_field_error(client, token):
    response = post_json(client, GL_LINES, [gl_line("g1", account="a" * 201)], token=token)
    assert field_errors(response.json()) == {0: ["account"]}
    assert GLLine.objects.count() == 0


@pytest.mark.parametrize("text", ['"\\ud800"', '"a\\udfffb"'])
def test_a_lone_surrogate_is_a_400_not_a_500(client, token, hook, text):
    raw = json.dumps([gl_line("g1", description="X")]).replace('"X"', text)
    response = post_json(client, GL_LINES, None, raw=raw, token=token)
    assert response.status_code == 400
    assert "surrogate" in response.json()["detail"]
    assert deliver(client, hook, "gl_lines", raw).status_code == 400
    key = json.dumps([{"external_id": "g1"}]).replace('"external_id"', text)
    assert post_json(client, GL_LINES, None, raw=key, token=token).status_code == 400


def test_deeply_nested_values_are_refused_without_a_500(client, token):
    nested = "[" * 400 + "]" * 400
    raw = json.dumps([gl_line("g1", description="X")]).replace('"X"', nested)
    response = post_json(client, GL_LINES, None, raw=raw, token=token)
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_shallow_structured_values_are_field_errors(client, token):
    raw = json.dumps([gl_line("g1", description=[[{"a": [1]}]], amount={"v": 1})])
    response = post_json(client, GL_LINES, None, raw=raw, token=token)
    assert response.status_code == 200
    assert field_errors(response.json()) == {0: ["amount", "description"]}


# --- 7. a chunked request body (no Content-Length) ----------------------------------------------


def chunked(client, url, body: bytes, *, terminated: bool, **extra):
    """A request as a WSGI server passes on a chunked upload: no CONTENT_LENGTH.

    ``wsgi.input_terminated`` is how gunicorn (and uWSGI, mod_wsgi) say the input stream
    ends at the end of the body, so it can be read without a length.
    """
    environ = {
        "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
    }
    if terminated:
        environ["wsgi.input_terminated"] = True
    return client.post(url, data=body, content_type="application/json", **environ, **extra)


def test_a_chunked_body_is_read_when_the_server_terminates_the_stream(client, token):
    body = json.dumps([gl_line("g1"), gl_line("g2")]).encode()
    response = chunked(client, GL_LINES, body, terminated=True, **bearer(token))
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2


def test_a_chunked_webhook_delivery_is_read(client, hook):
    connector, secret = hook
    body = b'{"id": "e1", "type": "gl_lines", "data": ' + json.dumps([gl_line("g1")]).encode()
    body += b"}"
    response = chunked(
        client,
        f"/api/v1/webhooks/{connector.slug}/",
        body,
        terminated=True,
        HTTP_X_FINHUB_SIGNATURE=signature_header(secret=secret, body=body),
    )
    assert response.status_code == 200, response.json()
    assert response.json()["result"]["created"] == 1


def test_a_chunked_body_over_the_limit_is_a_413(client, token, settings):
    settings.FINHUB_INGEST_MAX_BODY_BYTES = 100
    body = json.dumps([gl_line(f"g{i}") for i in range(5)]).encode()
    response = chunked(client, GL_LINES, body, terminated=True, **bearer(token))
    assert response.status_code == 413
    assert GLLine.objects.count() == 0


def test_a_chunked_body_the_server_cannot_delimit_is_a_411(client, token):
    body = json.dumps([gl_line("g1")]).encode()
    response = chunked(client, GL_LINES, body, terminated=False, **bearer(token))
    assert response.status_code == 411
    assert response.json()["code"] == "length_required"
    assert "Content-Length" in response.json()["detail"]
    assert "Malformed" not in response.json()["detail"]
