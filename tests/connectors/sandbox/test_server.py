"""The sandbox HTTP API over real HTTP on 127.0.0.1: auth, paging, increments, totals."""

import datetime as dt
from collections import Counter
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from connectors.sandbox.server import SYSTEMS, SandboxServer
from connectors.sandbox.shapes import RECONCILE_FIELDS, RESOURCES, format_datetime

from .helpers import auth_headers, erp_token, fetch_all, get, request

ALL = [(r.system, r.name) for r in RESOURCES]


def _key(record):
    return (record["updated_at"], record["id"])


@pytest.mark.parametrize(("system", "resource"), ALL)
def test_every_record_exactly_once_in_updated_at_id_order(sandbox_session, system, resource):
    records, _pages = fetch_all(sandbox_session, system, resource, size=50)
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    expected = {r["external_id"] for r in sandbox_session.live_rows(system, resource)}
    assert set(ids) == expected
    assert [_key(r) for r in records] == sorted(_key(r) for r in records)


@pytest.mark.parametrize("system", ["erp", "budget"])  # cursor and page style
def test_ties_across_page_boundaries_are_neither_lost_nor_repeated(sandbox_session, system):
    resource = "gl-lines" if system == "erp" else "budget-lines"
    size = 3
    records, pages = fetch_all(sandbox_session, system, resource, size=size)
    assert pages > 10
    stamps = [r["updated_at"] for r in records]
    # the data really has ties straddling page boundaries
    split = sum(stamps[i - 1] == stamps[i] for i in range(size, len(stamps), size))
    assert split > 0
    assert len({r["id"] for r in records}) == len(records)
    assert len(records) == len(sandbox_session.live_rows(system, resource))


def test_updated_since_is_inclusive_and_includes_the_whole_tie(sandbox_session):
    rows = sandbox_session.live_rows("erp", "gl-lines")
    stamps = Counter(r["updated_at"] for r in rows)
    tie, size = next((s, n) for s, n in sorted(stamps.items()) if n >= 3)
    expected = {r["external_id"] for r in rows if r["updated_at"] >= tie}
    for system in ("erp",):
        records, _ = fetch_all(
            sandbox_session, system, "gl-lines", size=2, updated_since=format_datetime(tie)
        )
        assert {r["id"] for r in records} == expected
        assert sum(r["updated_at"] == format_datetime(tie) for r in records) == size
    # page style, with an offset instead of Z
    lines = sandbox_session.live_rows("budget", "budget-lines")
    since = sorted({r["updated_at"] for r in lines})[1]
    records, _ = fetch_all(
        sandbox_session, "budget", "budget-lines", size=100, updated_since=since.isoformat()
    )
    assert {r["id"] for r in records} == {
        r["external_id"] for r in lines if r["updated_at"] >= since
    }


def test_resuming_from_a_high_water_mark_loses_nothing(sandbox_session):
    """A run stops after 3 pages; the next one asks from the last row's updated_at
    (inclusive) and follows cursors: every row arrives, only the tied rows twice."""
    rows = sandbox_session.live_rows("crm", "deals")
    headers = auth_headers(sandbox_session, "crm")
    seen: list[str] = []
    body = {"next_cursor": None}
    for _ in range(3):
        body = get(
            sandbox_session, "crm", "deals", headers=headers, limit=4, cursor=body["next_cursor"]
        ).json()
        seen += [r["id"] for r in body["data"]]
    mark = body["data"][-1]["updated_at"]
    rest, _ = fetch_all(sandbox_session, "crm", "deals", size=4, updated_since=mark)
    assert rest[0]["updated_at"] == mark
    assert set(seen) | {r["id"] for r in rest} == {r["external_id"] for r in rows}
    again = set(seen) & {r["id"] for r in rest}
    tied = {r["external_id"] for r in rows if format_datetime(r["updated_at"]) == mark}
    assert again == tied & set(seen)


def test_page_response_shape(sandbox_session):
    body = get(sandbox_session, "marketing", "touchpoints", page=2, per_page=10).json()
    assert set(body) == {"items", "page", "per_page", "total_pages", "total"}
    total = len(sandbox_session.live_rows("marketing", "touchpoints"))
    assert body["page"] == 2 and body["per_page"] == 10
    assert body["total"] == total and body["total_pages"] == -(-total // 10)
    assert len(body["items"]) == 10
    beyond = get(sandbox_session, "marketing", "touchpoints", page=10**6, per_page=10).json()
    assert beyond["items"] == []


def test_source_shapes_differ_from_canonical(sandbox_session):
    line = get(sandbox_session, "erp", "gl-lines", limit=1).json()["data"][0]
    assert set(line) >= {"id", "updated_at", "account", "department_id", "date", "amount", "memo"}
    assert set(line["account"]) == {"id"}
    assert set(line["amount"]) == {"value", "currency"}
    assert isinstance(line["amount"]["value"], str)
    Decimal(line["amount"]["value"])
    event = get(sandbox_session, "billing", "subscription-events", limit=1).json()["data"][0]
    assert isinstance(event["mrr_cents"], int)
    assert dt.datetime.fromisoformat(event["updated_at"]).tzinfo is not None
    assert event["updated_at"].endswith("Z") and "." in event["updated_at"]


@pytest.mark.parametrize(("system", "resource"), ALL)
def test_control_totals_equal_the_canonical_data(sandbox_session, system, resource):
    resp = get(sandbox_session, system, "control-totals", resource=resource)
    assert resp.status == 200
    body = resp.json()
    assert body["resource"] == resource
    entity = next(r.entity for r in RESOURCES if (r.system, r.name) == (system, resource))
    date_field, amount_field = RECONCILE_FIELDS.get(entity, (None, None))
    counts, sums = Counter(), {}
    for row in sandbox_session.company.entities[entity]:
        month = f"{row[date_field]:%Y-%m}" if date_field else None
        counts[month] += 1
        if amount_field:
            sums[month] = sums.get(month, Decimal(0)) + row[amount_field]
    expected = [
        {
            "month": m,
            "count": counts[m],
            "amount": str(sums[m].quantize(Decimal("0.01"))) if amount_field else None,
        }
        for m in sorted(counts, key=lambda m: m or "")
    ]
    assert body["totals"] == expected
    assert sum(t["count"] for t in body["totals"]) == len(
        sandbox_session.live_rows(system, resource)
    )


def test_billing_totals_are_in_major_units(sandbox_session):
    totals = get(sandbox_session, "billing", "control-totals", resource="subscription-events")
    records, _ = fetch_all(sandbox_session, "billing", "subscription-events", size=500)
    cents = sum(r["mrr_cents"] for r in records)
    assert sum(Decimal(t["amount"]) for t in totals.json()["totals"]) == Decimal(cents) / 100


def test_mutations_tombstones_and_newer_stamps(sandbox):
    before = max(r["updated_at"] for rows in sandbox.company.entities.values() for r in rows)
    count = len(sandbox.live_rows("erp", "gl-lines"))
    result = sandbox.mutate("erp", "gl-lines", update=2, delete=2, create=3)
    assert len(result["updated"]) == 2 and len(result["deleted"]) == 2
    assert len(result["created"]) == 3
    assert len(sandbox.live_rows("erp", "gl-lines")) == count - 2 + 3
    assert len(sandbox.company.entities["gl_lines"]) == count - 2 + 3
    changed = get(sandbox, "erp", "gl-lines", limit=100, updated_since=format_datetime(before))
    # inclusive: the rows stamped exactly ``before`` come too, then the changes, which are
    # strictly newer than everything before, in change order
    data = changed.json()["data"]
    old = [r for r in data if r["updated_at"] == format_datetime(before)]
    data = data[len(old) :]
    assert [r["id"] for r in data] == result["updated"] + result["deleted"] + result["created"]
    assert all(r["updated_at"] > format_datetime(before) for r in data)
    tombstones = [r for r in data if r.get("deleted")]
    assert [t["id"] for t in tombstones] == result["deleted"]
    assert all(set(t) == {"id", "updated_at", "deleted"} for t in tombstones)
    # tombstones also show in a full listing; totals count live records only
    records, _ = fetch_all(sandbox, "erp", "gl-lines", size=200)
    assert {r["id"] for r in records if r.get("deleted")} == set(result["deleted"])
    totals = get(sandbox, "erp", "control-totals", resource="gl-lines").json()["totals"]
    assert sum(t["count"] for t in totals) == count + 1
    # the control API does the same over HTTP
    resp = request(
        sandbox.url + "/_sandbox/mutate",
        "POST",
        body=b'{"system": "crm", "resource": "deals", "update": 1, "delete": 1}',
    )
    assert resp.status == 200 and len(resp.json()["deleted"]) == 1


def test_mutating_named_records_and_keeping_them_valid(sandbox):
    budgets = sandbox.live_rows("budget", "budgets")
    created = sandbox.mutate("budget", "budgets", create=2)["created"]
    rows = {r["external_id"]: r for r in sandbox.live_rows("budget", "budgets")}
    for ext in created:
        assert rows[ext]["is_current"] is False
    keys = [(r["fiscal_year"], r["version"]) for r in rows.values()]
    assert len(keys) == len(set(keys)) == len(budgets) + 2
    target = sandbox.live_rows("erp", "invoices")[0]
    old = target["amount"]
    sandbox.mutate("erp", "invoices", update_ids=[target["external_id"]])
    assert target["amount"] != old
    with pytest.raises(KeyError):
        sandbox.mutate("erp", "invoices", delete_ids=["nope"])


def test_reset_regenerates_from_the_seed(sandbox):
    original = sandbox.live_rows("crm", "deals")
    sandbox.mutate("crm", "deals", delete=3)
    sandbox.faults([{"fault": "http_500"}])
    assert request(sandbox.url + "/_sandbox/reset", "POST").status == 200
    assert sandbox.live_rows("crm", "deals") == original
    assert get(sandbox, "crm", "deals").status == 200
    assert sandbox.stats()["requests"] == {"/crm/v1/deals": 1}


@pytest.mark.parametrize("system", list(SYSTEMS))
def test_wrong_or_missing_credentials_get_401_json(sandbox_session, system):
    resource = next(r.name for r in RESOURCES if r.system == system)
    missing = get(sandbox_session, system, resource, headers={})
    assert missing.status == 401
    assert missing.headers["content-type"] == "application/json"
    assert "error" in missing.json()
    wrong = {
        "erp": {"Authorization": "Bearer not-a-token"},
        "budget": {"Authorization": "Basic ZmluaHViOndyb25n"},
        "crm": {"Authorization": "Bearer sandbox-billing-token"},
        "marketing": {"X-Api-Key": "sandbox-product-key"},
        "billing": {"Authorization": "Bearer sandbox-crm-token"},
        "product": {"X-Api-Key": "wrong"},
    }[system]
    assert get(sandbox_session, system, resource, headers=wrong).status == 401
    assert get(sandbox_session, system, resource).status == 200


def test_oauth2_token_endpoint(sandbox):
    url = sandbox.url + "/erp/oauth/token"
    form = {"grant_type": "client_credentials", "client_id": "finhub"}
    bad = request(url, "POST", body=urlencode({**form, "client_secret": "nope"}).encode())
    assert bad.status == 401 and bad.json() == {"error": "invalid_client"}
    token = erp_token(sandbox)
    ok = get(sandbox, "erp", "accounts", headers={"Authorization": f"Bearer {token}"})
    assert ok.status == 200
    sandbox.expire_tokens()
    assert (
        get(sandbox, "erp", "accounts", headers={"Authorization": f"Bearer {token}"}).status == 401
    )


def test_bad_parameters_are_400(sandbox_session):
    assert get(sandbox_session, "crm", "deals", cursor="garbage!").status == 400
    assert get(sandbox_session, "crm", "deals", updated_since="yesterday").status == 400
    assert get(sandbox_session, "crm", "nope").status == 404
    assert get(sandbox_session, "crm", "control-totals", resource="gl-lines").status == 400


def test_standalone_server_serves_in_the_foreground_thread():
    server = SandboxServer(scale=0.01, end_month=dt.date(2026, 10, 1), log=None)
    with server:
        assert get(server, "product", "initiatives").status == 200
