"""POST /api/v1/ingest/<entity>/ end to end, with real tokens and the real engine."""

import json
from decimal import Decimal

import pytest
from django.test import override_settings

from connectors.services import api_token_revoke
from records.models import GLLine, IngestBatch, RejectedRecord
from tests.connectors.helpers import gl_line, make_token, post_json
from tests.factories import ConnectorFactory

URL = "/api/v1/ingest/gl_lines/"
pytestmark = pytest.mark.django_db


def nothing_written():
    return (
        GLLine.objects.count() == 0
        and RejectedRecord.objects.count() == 0
        and IngestBatch.objects.count() == 0
    )


def test_valid_records_are_created_with_exact_amounts_and_attributed_to_the_token(client):
    token, plaintext = make_token()
    # As JSON numbers: through a float, 1234567890123.45 becomes 1234567890123.449951171875 and
    # 0.1 becomes 0.1000000000000000055511151231257827 (both refused as > 2 decimals).
    raw = (
        '[{"external_id": "gl-1", "account": "4000", "posting_date": "2026-01-15",'
        ' "amount": 1234567890123.45, "currency": "EUR"},'
        ' {"external_id": "gl-2", "account": "4000", "posting_date": "2026-01-16",'
        ' "amount": 0.1, "currency": "EUR", "description": "Coffee"}]'
    )
    response = post_json(client, URL, None, raw=raw, token=plaintext)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["created"] == 2
    assert (body["updated"], body["unchanged"], body["rejected"], body["errors"]) == (0, 0, 0, [])
    lines = {line.external_id: line for line in GLLine.objects.all()}
    assert lines["gl-1"].amount == Decimal("1234567890123.45")
    assert lines["gl-2"].amount == Decimal("0.10")
    assert lines["gl-1"].source == token.connector
    batch = IngestBatch.objects.get(pk=body["batch_id"])
    assert batch.api_token == token
    assert batch.via == "api"
    assert batch.user is None
    assert batch.request_id  # the request's correlation id


def test_resend_is_unchanged_and_a_change_is_an_update(client):
    _, plaintext = make_token()
    records = [gl_line("gl-1"), gl_line("gl-2")]
    assert post_json(client, URL, records, token=plaintext).status_code == 201

    again = post_json(client, URL, records, token=plaintext)
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 2)

    changed = post_json(client, URL, [gl_line("gl-1", "250.00"), gl_line("gl-2")], token=plaintext)
    assert changed.status_code == 200
    assert (changed.json()["updated"], changed.json()["unchanged"]) == (1, 1)
    assert GLLine.objects.get(external_id="gl-1").amount == Decimal("250.00")


def test_invalid_rows_are_rejected_with_field_reasons_and_valid_rows_still_written(client):
    _, plaintext = make_token()
    raw = json.dumps(
        [
            gl_line("ok-1"),
            gl_line("three-decimals", "10.005"),
            gl_line("unknown-field", colour="blue"),
            gl_line("ok-2", "-5.50"),
        ]
    )
    # NaN is not JSON, but clients send it; it must be a field error, not a crash or a 0.
    raw = raw[:-1] + ', {"external_id": "nan", "account": "4000", "posting_date": "2026-01-15",'
    raw += ' "amount": NaN, "currency": "EUR"}]'
    response = post_json(client, URL, None, raw=raw, token=plaintext)

    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["rejected"]) == (2, 3)
    errors = {e["external_id"]: (e["index"], e["errors"]) for e in body["errors"]}
    assert errors["three-decimals"] == (
        1,
        {"amount": ["Ensure that there are no more than 2 decimal places."]},
    )
    assert errors["unknown-field"] == (2, {"colour": ["Unknown field."]})
    assert errors["nan"][0] == 4
    assert "NaN" in errors["nan"][1]["amount"][0]
    assert set(GLLine.objects.values_list("external_id", flat=True)) == {"ok-1", "ok-2"}
    rejected = RejectedRecord.objects.get(external_id="three-decimals")
    assert rejected.payload["amount"] == "10.005"  # kept exactly as received
    assert rejected.errors == {"amount": ["Ensure that there are no more than 2 decimal places."]}


def test_only_rejections_answer_200(client):
    _, plaintext = make_token()
    response = post_json(client, URL, [gl_line("bad", "1.001")], token=plaintext)
    assert response.status_code == 200
    assert response.json()["rejected"] == 1


def test_a_value_too_large_for_the_column_is_a_field_error(client):
    _, plaintext = make_token()
    response = post_json(
        client,
        URL,
        None,
        raw=json.dumps([gl_line("huge", "0")]).replace('"0"', "1e20"),
        token=plaintext,
    )
    assert response.status_code == 200
    assert list(response.json()["errors"][0]["errors"]) == ["amount"]
    assert GLLine.objects.count() == 0


def test_atomic_mode_refuses_the_whole_request_on_any_invalid_row(client):
    _, plaintext = make_token()
    records = [gl_line("ok-1"), gl_line("bad", "1.001"), gl_line("ok-2")]
    response = post_json(client, URL + "?atomic=true", records, token=plaintext)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "atomic_rejected"
    assert body["errors"] == [
        {
            "index": 1,
            "external_id": "bad",
            "errors": {"amount": ["Ensure that there are no more than 2 decimal places."]},
        }
    ]
    assert nothing_written()


def test_atomic_mode_writes_everything_when_all_rows_are_valid(client):
    _, plaintext = make_token()
    response = post_json(
        client, URL + "?atomic=true", [gl_line("a"), gl_line("b")], token=plaintext
    )
    assert response.status_code == 201
    assert GLLine.objects.count() == 2


def test_an_invalid_atomic_flag_is_a_400(client):
    _, plaintext = make_token()
    response = post_json(client, URL + "?atomic=maybe", [gl_line("a")], token=plaintext)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"
    assert nothing_written()


def test_malformed_json_names_the_position_and_writes_nothing(client):
    _, plaintext = make_token()
    response = post_json(client, URL, None, raw='[{"external_id": "a",}]', token=plaintext)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "parse_error"
    assert "line 1 column 22" in body["detail"]
    assert nothing_written()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_content_type_is_415(client, content_type):
    _, plaintext = make_token()
    response = client.post(
        URL,
        data=json.dumps([gl_line("a")]),
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {plaintext}",
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert nothing_written()


@pytest.mark.parametrize("body", ['{"external_id": "a"}', '"text"', "null", "12"])
def test_a_body_that_is_not_an_array_is_a_400(client, body):
    _, plaintext = make_token()
    response = post_json(client, URL, None, raw=body, token=plaintext)
    assert response.status_code == 400
    assert response.json()["code"] == "not_a_list"
    assert nothing_written()


def test_an_empty_json_body_is_a_parse_error(client):
    _, plaintext = make_token()
    response = client.generic(
        "POST", URL, b"", CONTENT_TYPE="application/json", HTTP_AUTHORIZATION=f"Bearer {plaintext}"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_5001_records_is_413_and_nothing_is_written(client):
    _, plaintext = make_token()
    records = [gl_line(f"gl-{i}") for i in range(5001)]
    response = post_json(client, URL, records, token=plaintext)
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "too_many_records"
    assert "At most 5000 records per request; got 5001" in body["detail"]
    assert nothing_written()


def test_5000_records_are_accepted(client):
    _, plaintext = make_token()
    records = [gl_line(f"gl-{i}") for i in range(5000)]
    response = post_json(client, URL, records, token=plaintext)
    assert response.status_code == 201
    assert response.json()["created"] == 5000


@override_settings(FINHUB_INGEST_MAX_BODY_BYTES=200)
def test_a_body_over_the_byte_limit_is_413_before_parsing(client):
    _, plaintext = make_token()
    response = post_json(client, URL, [gl_line(f"gl-{i}") for i in range(5)], token=plaintext)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert nothing_written()


def test_the_same_external_id_twice_is_an_error_for_the_request(client):
    _, plaintext = make_token()
    response = post_json(client, URL, [gl_line("a"), gl_line("b"), gl_line("a")], token=plaintext)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "duplicate_external_id"
    assert body["errors"][0]["index"] == 2
    assert nothing_written()


def test_no_token_is_401_with_a_bearer_challenge(client):
    response = post_json(client, URL, [gl_line("a")])
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert nothing_written()


def test_a_revoked_token_is_401_and_says_so(client):
    token, plaintext = make_token()
    api_token_revoke(token=token)
    response = post_json(client, URL, [gl_line("a")], token=plaintext)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert nothing_written()


@pytest.mark.parametrize(
    "header",
    ["Bearer fh_000000000000_wrong", "Bearer not-a-token", "Bearer", "Bearer a b"],
)
def test_an_invalid_token_is_401(client, header):
    make_token()
    response = client.post(
        URL, data="[]", content_type="application/json", HTTP_AUTHORIZATION=header
    )
    assert response.status_code == 401
    assert nothing_written()


def test_a_wrong_secret_for_an_existing_prefix_is_401(client):
    _, plaintext = make_token()
    forged = plaintext[:-4] + ("AAAA" if not plaintext.endswith("AAAA") else "BBBB")
    response = post_json(client, URL, [gl_line("a")], token=forged)
    assert response.status_code == 401
    assert nothing_written()


def test_a_token_of_another_connector_cannot_write_to_this_one(client):
    mine = ConnectorFactory(name="ERP")
    _, other_plaintext = make_token(ConnectorFactory(name="CRM"))
    response = post_json(
        client, URL + f"?source={mine.slug}", [gl_line("a")], token=other_plaintext
    )
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_connector"
    assert nothing_written()


def test_records_always_belong_to_the_tokens_connector(client):
    erp = ConnectorFactory(name="ERP")
    _, plaintext = make_token(erp)
    response = post_json(client, URL + f"?source={erp.slug}", [gl_line("a")], token=plaintext)
    assert response.status_code == 201
    assert GLLine.objects.get().source == erp


def test_an_entity_the_token_may_not_write_is_403(client):
    _, plaintext = make_token(entities=["gl_lines"])
    response = post_json(client, "/api/v1/ingest/deals/", [{"external_id": "d"}], token=plaintext)
    assert response.status_code == 403
    assert response.json()["code"] == "entity_not_allowed"
    assert IngestBatch.objects.count() == 0


def test_an_unknown_entity_is_404(client):
    _, plaintext = make_token()
    response = post_json(client, "/api/v1/ingest/unicorns/", [], token=plaintext)
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_entity"


def test_a_read_only_token_cannot_write(client):
    _, plaintext = make_token(can_write=False, can_read=True)
    response = post_json(client, URL, [gl_line("a")], token=plaintext)
    assert response.status_code == 403
    assert response.json()["code"] == "write_not_allowed"
    assert nothing_written()


def test_a_disabled_connector_cannot_receive(client):
    token, plaintext = make_token()
    token.connector.enabled = False
    token.connector.save()
    response = post_json(client, URL, [gl_line("a")], token=plaintext)
    assert response.status_code == 403
    assert response.json()["code"] == "connector_disabled"
    assert nothing_written()


def test_session_users_push_through_the_admin_not_this_api(client, integration_admin):
    client.force_login(integration_admin)
    response = post_json(client, URL, [gl_line("a")])
    assert response.status_code == 401  # the endpoint authenticates API tokens only
    assert nothing_written()


def test_requests_are_throttled_per_token_with_retry_after(client, monkeypatch):
    from connectors.throttling import ApiTokenRateThrottle

    monkeypatch.setattr(ApiTokenRateThrottle, "THROTTLE_RATES", {"api_token": "2/min"})
    _, plaintext = make_token()
    _, other = make_token(name="second")
    for _ in range(2):
        assert post_json(client, URL, [], token=plaintext).status_code == 200
    throttled = post_json(client, URL, [], token=plaintext)
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert throttled.json()["code"] == "throttled"
    # Another token has its own budget.
    assert post_json(client, URL, [], token=other).status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        '[{"external_id": "a\\u0000"}]',
        '[{"col\\u0000our": 1}]',
        '["\\u0000"]',
        '[{"tags": [["x\\u0000"]]}]',
    ],
)
def test_nul_characters_are_refused_before_anything_is_stored(client, raw):
    # PostgreSQL can store NUL neither in text nor in jsonb (the rejected record's payload).
    _, plaintext = make_token()
    response = post_json(client, URL, None, raw=raw, token=plaintext)
    assert response.status_code == 400
    assert "Null characters" in response.json()["detail"]
    assert nothing_written()


def test_an_integer_too_long_to_convert_is_a_parse_error(client):
    _, plaintext = make_token()
    raw = '[{"external_id": "a", "amount": ' + "9" * 5000 + "}]"
    response = post_json(client, URL, None, raw=raw, token=plaintext)
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert nothing_written()


def test_invalid_utf8_is_a_parse_error(client):
    _, plaintext = make_token()
    response = client.generic(
        "POST",
        URL,
        b'[{"external_id": "\xff"}]',
        CONTENT_TYPE="application/json",
        HTTP_AUTHORIZATION=f"Bearer {plaintext}",
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]
