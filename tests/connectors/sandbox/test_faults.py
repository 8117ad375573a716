"""Every fault kind of the sandbox, observed from a real HTTP client."""

import http.client
import json
import socket
import time

import pytest

from connectors.sandbox.faults import FaultConfigError, parse_cli

from .helpers import auth_headers, get, request


def _all_ids(sandbox, system, resource):
    return [r["external_id"] for r in sandbox.live_rows(system, resource)]


@pytest.mark.parametrize(("kind", "status"), [("http_500", 500), ("http_503", 503)])
def test_server_errors(sandbox, kind, status):
    sandbox.faults([{"fault": kind, "path": "/crm", "times": 2}])
    assert get(sandbox, "crm", "deals").status == status
    assert get(sandbox, "crm", "deals").status == status
    assert get(sandbox, "crm", "deals").status == 200
    assert get(sandbox, "billing", "customers").status == 200  # other paths untouched
    assert sandbox.stats()["faults_fired"] == {kind: 2}


def test_429_with_retry_after(sandbox):
    sandbox.faults([{"fault": "http_429", "path": "/marketing", "retry_after": 3}])
    resp = get(sandbox, "marketing", "spend")
    assert resp.status == 429
    assert resp.headers["retry-after"] == "3"


def test_slow_and_timeout(sandbox):
    sandbox.faults([{"fault": "slow", "path": "/product", "seconds": 0.3, "times": 1}])
    started = time.monotonic()
    assert get(sandbox, "product", "costs").status == 200
    assert time.monotonic() - started >= 0.3
    sandbox.faults([{"fault": "timeout", "path": "/product", "seconds": 2, "times": 1}])
    with pytest.raises((TimeoutError, socket.timeout)):
        get(sandbox, "product", "costs", timeout=0.3)
    assert get(sandbox, "product", "costs").status == 200


def test_drop_closes_the_connection_without_a_response(sandbox):
    sandbox.faults([{"fault": "drop", "path": "/erp/v1", "times": 1}])
    headers = auth_headers(sandbox, "erp")  # the token endpoint is outside /erp/v1
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        get(sandbox, "erp", "gl-lines", headers=headers)
    assert get(sandbox, "erp", "gl-lines", headers=headers).status == 200


def test_truncate_is_a_200_with_cut_json(sandbox):
    sandbox.faults([{"fault": "truncate", "path": "/billing", "times": 1}])
    resp = get(sandbox, "billing", "customers")
    assert resp.status == 200
    assert resp.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(resp.body)


def test_html_is_a_200_html_page(sandbox):
    sandbox.faults([{"fault": "html", "path": "/budget"}])
    resp = get(sandbox, "budget", "budgets")
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.body.lstrip().startswith(b"<!DOCTYPE html>")


def test_unauthorized_even_with_good_credentials(sandbox):
    sandbox.faults([{"fault": "unauthorized", "path": "/crm/v1/deals"}])
    assert get(sandbox, "crm", "deals").status == 401
    assert get(sandbox, "crm", "reps").status == 200


def test_invalid_rows_break_a_row_but_keep_its_id(sandbox):
    sandbox.faults([{"fault": "invalid_rows", "path": "/erp/v1/gl-lines", "rows": 2, "times": 1}])
    data = get(sandbox, "erp", "gl-lines", limit=5).json()["data"]
    assert [r["amount"]["value"] for r in data[:2]] == ["not-a-number"] * 2
    assert all(r["amount"]["value"] != "not-a-number" for r in data[2:])
    assert sandbox.stats()["invalid_row_ids"] == [r["id"] for r in data[:2]]
    assert set(sandbox.stats()["invalid_row_ids"]) <= set(_all_ids(sandbox, "erp", "gl-lines"))
    # a missing required field on another resource; the canonical data stays intact
    sandbox.faults([{"fault": "invalid_rows", "path": "/marketing/v1/touchpoints"}])
    item = get(sandbox, "marketing", "touchpoints", per_page=3).json()["items"][0]
    assert "timestamp" not in item and item["id"]
    sandbox.clear_faults()
    assert "timestamp" in get(sandbox, "marketing", "touchpoints", per_page=3).json()["items"][0]


def test_duplicate_rows_repeat_the_previous_pages_last_row(sandbox):
    sandbox.faults([{"fault": "duplicate_rows", "path": "/crm"}])
    first = get(sandbox, "crm", "deals", limit=4).json()  # no previous page: not fired
    assert len(first["data"]) == 4
    second = get(sandbox, "crm", "deals", limit=4, cursor=first["next_cursor"]).json()
    assert len(second["data"]) == 5
    assert second["data"][0] == first["data"][-1]
    sandbox.faults([{"fault": "duplicate_rows", "path": "/marketing"}])
    page1 = get(sandbox, "marketing", "contacts", page=1, per_page=4).json()["items"]
    page2 = get(sandbox, "marketing", "contacts", page=2, per_page=4).json()["items"]
    assert len(page1) == 4 and len(page2) == 5 and page2[0] == page1[-1]
    assert sandbox.stats()["faults_fired"] == {"duplicate_rows": 2}


def test_stuck_cursor_does_not_advance(sandbox):
    sandbox.faults([{"fault": "stuck_cursor", "path": "/billing"}])
    first = get(sandbox, "billing", "customers", limit=3).json()
    again = get(sandbox, "billing", "customers", limit=3, cursor=first["next_cursor"]).json()
    assert again["next_cursor"] == first["next_cursor"]
    assert again["data"] == first["data"]
    sandbox.faults([{"fault": "stuck_cursor", "path": "/product"}])
    page1 = get(sandbox, "product", "costs", page=1, per_page=3).json()
    page2 = get(sandbox, "product", "costs", page=2, per_page=3).json()
    assert page2["page"] == 1 and page2["items"] == page1["items"]


def test_every_and_probability(sandbox):
    sandbox.faults([{"fault": "http_500", "path": "/crm", "every": 3}])
    statuses = [get(sandbox, "crm", "teams").status for _ in range(6)]
    assert statuses == [200, 200, 500, 200, 200, 500]
    sandbox.faults([{"fault": "http_503", "path": "/crm", "probability": 0.5}])
    statuses = [get(sandbox, "crm", "teams").status for _ in range(40)]
    assert 5 < statuses.count(503) < 35
    sandbox.faults([{"fault": "http_503", "path": "/crm", "probability": 0.5}])
    assert [get(sandbox, "crm", "teams").status for _ in range(40)] == statuses  # seeded


def test_control_api_over_http(sandbox):
    body = json.dumps({"rules": [{"fault": "http_500", "path": "/erp", "times": 1}]}).encode()
    resp = request(sandbox.url + "/_sandbox/faults", "POST", body=body)
    assert resp.status == 200 and resp.json()["rules"][0]["fault"] == "http_500"
    assert request(sandbox.url + "/erp/oauth/token", "POST").status == 500
    bad = request(sandbox.url + "/_sandbox/faults", "POST", body=b'{"rules": [{"fault": "x"}]}')
    assert bad.status == 400 and "not one of" in bad.json()["detail"]
    assert request(sandbox.url + "/_sandbox/faults", "DELETE").status == 200
    assert sandbox.stats()["rules"] == []
    stats = request(sandbox.url + "/_sandbox/stats").json()
    assert stats["faults_fired"] == {"http_500": 1}
    assert stats["requests"]["/erp/oauth/token"] == 1


def test_cli_fault_spec():
    rule = parse_cli("http_503:0.05")
    assert (rule.fault, rule.probability, rule.path) == ("http_503", 0.05, "/")
    assert parse_cli("http_429@/crm").path == "/crm"
    with pytest.raises(FaultConfigError):
        parse_cli("meteor:0.1")
