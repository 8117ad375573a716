"""`make load-test`'s pure parts: locust's CSV to the verdict, and the write requests the
simulated clients send, accepted by the real views (no locust, no server here)."""

import datetime as dt
import json

import pytest

from benchmarks.load import verdict as v
from benchmarks.load.payloads import ingest_push, webhook_delivery
from connectors.services import api_token_create, connector_webhook_secret_rotate
from records.ingestion.services import Actor, ingest_records
from records.models import GLLine
from tests.factories import ConnectorFactory

# --- the verdict ------------------------------------------------------------------------------

HEADER = (
    '"Type","Name","Request Count","Failure Count","Median Response Time",'
    '"Average Response Time","Min Response Time","Max Response Time","Average Content Size",'
    '"Requests/s","Failures/s","50%","66%","75%","80%","90%","95%","98%","99%","99.9%",'
    '"99.99%","100%"'
)


def csv_row(method, name, requests, failures, p50, p95, p99):
    return (
        f'"{method}","{name}",{requests},{failures},{p50},{p50},1,{p99},1000,1.0,0.0,'
        f"{p50},{p50},{p50},{p50},{p95},{p95},{p99},{p99},{p99},{p99},{p99}"
    )


def stats(name, requests=1000, failures=0, p95=100.0):
    return v.EndpointStats(name, requests, failures, p95 / 2, p95, p95 * 1.5)


ALL_CLASSES = [
    stats("GET /dashboards/executive/", p95=480),
    stats("GET /api/v1/metrics/cac/", p95=290),
    stats("POST /api/v1/ingest/gl_lines/", p95=900),
    stats("POST /api/v1/webhooks/<connector>/", p95=400),
    stats("GET /accounts/login/", requests=8, p95=40),
    stats("POST /accounts/login/", requests=8, p95=1500),
]


def test_locust_stats_csv_gives_one_row_per_method_and_name_and_the_total():
    text = "\n".join(
        [
            HEADER,
            csv_row("GET", "/dashboards/executive/", 120, 0, 160, 470, 610),
            csv_row("POST", "/accounts/login/", 8, 1, 900, 1100, 1100),
            csv_row("", "Aggregated", 128, 1, 170, 520, 900),
        ]
    )
    rows, total = v.stats_from_csv(text)
    assert rows == [
        v.EndpointStats("GET /dashboards/executive/", 120, 0, 160.0, 470.0, 610.0),
        v.EndpointStats("POST /accounts/login/", 8, 1, 900.0, 1100.0, 1100.0),
    ]
    assert total == v.EndpointStats("Aggregated", 128, 1, 170.0, 520.0, 900.0)


def test_a_csv_without_the_aggregated_row_is_refused():
    with pytest.raises(ValueError, match="Aggregated"):
        v.stats_from_csv(HEADER + "\n" + csv_row("GET", "/x/", 1, 0, 1, 1, 1))


def test_every_class_within_target_and_no_failures_passes():
    result = v.verdict(ALL_CLASSES, stats("Aggregated", requests=3016))
    assert result.passed, result.problems
    assert [row.target.p95_ms for row in result.rows] == [500, 300, 500, 2000, 1000, 500]


def test_a_p95_over_its_target_fails_that_endpoint_only():
    endpoints = [*ALL_CLASSES[1:], stats("GET /dashboards/cac/", p95=510)]
    result = v.verdict(endpoints, stats("Aggregated"))
    assert result.problems == ("GET /dashboards/cac/: p95 510 ms > 500 ms",)
    failed = [row.stats.name for row in result.rows if not row.passed]
    assert failed == ["GET /dashboards/cac/"]
    assert "FAIL: p95 510 ms > 500 ms" in v.table(result)


@pytest.mark.parametrize(("failures", "passes"), [(0, True), (1, True), (2, False)])
def test_the_error_rate_may_reach_but_not_exceed_one_in_a_thousand(failures, passes):
    endpoints = [stats("GET /api/v1/metrics/cac/", requests=1000, failures=failures)]
    endpoints += [s for s in ALL_CLASSES if "metrics" not in s.name]
    result = v.verdict(endpoints, stats("Aggregated", requests=10_000, failures=failures))
    assert result.passed is passes
    if not passes:
        assert result.problems == ("GET /api/v1/metrics/cac/: error rate 0.20% > 0.1%",)


def test_the_run_as_a_whole_fails_above_the_error_rate():
    result = v.verdict(ALL_CLASSES, stats("Aggregated", requests=1000, failures=2))
    assert result.problems == ("all requests: error rate 0.20% > 0.1%",)


def test_an_unknown_request_name_and_a_class_with_no_request_fail():
    endpoints = [s for s in ALL_CLASSES if "webhooks" not in s.name]
    endpoints.append(stats("GET /somewhere/else/"))
    result = v.verdict(endpoints, stats("Aggregated"))
    assert set(result.problems) == {
        "GET /somewhere/else/: no target for this request name",
        "webhook delivery (5 lines): no request was made",
    }


# --- the write requests, through the real views ------------------------------------------------

TODAY = dt.date(2026, 11, 16)


@pytest.fixture
def source(db):
    connector = ConnectorFactory()
    actor = Actor(via="sync", request_id="test")
    ingest_records(
        source=connector,
        entity="accounts",
        records=[{"external_id": "A1", "code": "6900", "name": "A1", "type": "expense"}],
        actor=actor,
    )
    ingest_records(
        source=connector,
        entity="departments",
        records=[{"external_id": "D1", "name": "D1"}, {"external_id": "D2", "name": "D2"}],
        actor=actor,
    )
    return connector


def send(client, prepared):
    headers = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in prepared.headers.items()
        if name != "Content-Type"
    }
    return client.generic(
        prepared.method, prepared.path, prepared.body, content_type="application/json", **headers
    )


def test_two_ingest_pushes_each_create_all_their_lines(client, source):
    _, token = api_token_create(connector=source, name="t", allowed_entities=["gl_lines"])
    for _ in range(2):
        prepared = ingest_push(
            token=token, accounts=["A1"], departments=["D1", "D2"], posting_date=TODAY
        )
        response = send(client, prepared)
        assert response.status_code == 201, response.content
        assert response.json()["created"] == 20
        assert "Replayed" not in str(response.headers)
    lines = GLLine.objects.filter(source=source)
    assert lines.count() == 40
    assert {line.posting_date for line in lines} == {TODAY}
    assert all(line.amount > 0 and line.currency_id == "USD" for line in lines)


def test_a_signed_webhook_delivery_is_applied_once(client, source):
    secret = connector_webhook_secret_rotate(connector=source)
    prepared = webhook_delivery(
        slug=source.slug, secret=secret, accounts=["A1"], departments=["D1"], posting_date=TODAY
    )
    first = send(client, prepared)
    assert first.status_code == 200, first.content
    assert first.json()["duplicate"] is False
    assert first.json()["result"]["created"] == 5
    assert send(client, prepared).json()["duplicate"] is True
    event_id = json.loads(prepared.body)["id"]
    assert GLLine.objects.filter(source=source, external_id__startswith=event_id).count() == 5


def test_a_delivery_signed_with_another_secret_is_refused(client, source):
    connector_webhook_secret_rotate(connector=source)
    prepared = webhook_delivery(
        slug=source.slug,
        secret="whsec_wrong",
        accounts=["A1"],
        departments=["D1"],
        posting_date=TODAY,
    )
    assert send(client, prepared).status_code == 401


def test_the_write_requests_are_named_so_their_targets_apply():
    push = ingest_push(token="t", accounts=["A1"], departments=["D1"], posting_date=TODAY)
    hook = webhook_delivery(
        slug="erp", secret="s", accounts=["A1"], departments=["D1"], posting_date=TODAY
    )
    assert v.target_for(f"POST {push.name}").p95_ms == 1000
    assert v.target_for(f"POST {hook.name}").p95_ms == 500
    assert hook.path == "/api/v1/webhooks/erp/" != hook.name  # one name for every connector
