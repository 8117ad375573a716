"""The records read API (records/api.py): permissions, filters, ordering, cursor
pagination, query counts."""

import pytest

from connectors.authentication import READ_ALL_SCOPE
from records.ingestion.entities import ENTITIES
from records.ingestion.services import Actor, ingest_records
from records.models import Account, Campaign, Channel, GLLine
from tests.connectors.helpers import bearer, gl_line, make_token, reset_throttles
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles():
    # Throttle counters live in the cache and token ids repeat across rolled-back tests.
    reset_throttles()
    yield
    reset_throttles()


def ingest(source, entity, records):
    result = ingest_records(source=source, entity=entity, records=records, actor=Actor(via="sync"))
    assert result.rejected == 0, result.as_dict()
    return result


@pytest.fixture
def erp():
    source = ConnectorFactory(name="ERP")
    ingest(
        source,
        "accounts",
        [
            {"external_id": "4000", "code": "4000", "name": "Revenue", "type": "revenue"},
            {"external_id": "6000", "code": "6000", "name": "Marketing", "type": "expense"},
        ],
    )
    ingest(source, "departments", [{"external_id": "D1", "name": "Sales"}])
    ingest(
        source,
        "gl_lines",
        [
            gl_line("jan", "100.00", posting_date="2026-01-10", department="D1"),
            gl_line("feb", "200.50", posting_date="2026-02-10"),
            gl_line("mar", "-30.25", posting_date="2026-03-10", account="6000"),
        ],
    )
    return source


@pytest.fixture
def reader():
    # These tests read several connectors' data: a token granted wider reads (a plain read
    # grant sees its own connector and entities only: tests/records/test_api_read_scope.py).
    _, plaintext = make_token(can_read=True, can_write=False, scopes=[READ_ALL_SCOPE])
    return bearer(plaintext)


def ids(response):
    return sorted(row["external_id"] for row in response.json()["results"])


def test_a_token_with_read_access_lists_gl_lines_with_decimals_as_strings(client, erp, reader):
    response = client.get("/api/v1/gl_lines/?ordering=posting_date", **reader)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["amount"] for row in rows] == ["100.00", "200.50", "-30.25"]
    assert rows[0]["source"] == erp.slug
    assert rows[0]["account"] == Account.objects.get(external_id="4000").pk
    assert rows[0]["currency"] == "EUR"
    assert "row_hash" not in rows[0]


def test_a_token_without_read_access_is_403(client, erp):
    _, plaintext = make_token(can_read=False)
    assert client.get("/api/v1/gl_lines/", **bearer(plaintext)).status_code == 403


def test_a_token_cannot_read_roadmap_or_connector_data(client, reader):
    assert client.get("/api/v1/roadmap/work-items/", **reader).status_code in (403, 404)


def test_session_users_need_the_view_permission(client, erp, finance_viewer, no_role_user):
    client.force_login(finance_viewer)
    assert client.get("/api/v1/gl_lines/").status_code == 200
    client.force_login(no_role_user)
    assert client.get("/api/v1/gl_lines/").status_code == 403


def test_anonymous_is_401(client, erp):
    assert client.get("/api/v1/gl_lines/").status_code == 401


def test_a_revoked_token_cannot_read(client, erp):
    from connectors.services import api_token_revoke

    token, plaintext = make_token(can_read=True)
    api_token_revoke(token=token)
    assert client.get("/api/v1/gl_lines/", **bearer(plaintext)).status_code == 401


def test_reads_are_read_only(client, erp, reader, superuser):
    line = GLLine.objects.first()
    assert client.delete(f"/api/v1/gl_lines/{line.pk}/", **reader).status_code in (403, 405)
    client.force_login(superuser)
    assert client.delete(f"/api/v1/gl_lines/{line.pk}/").status_code == 405


def test_retrieve_one(client, erp, reader):
    line = GLLine.objects.get(external_id="feb")
    response = client.get(f"/api/v1/gl_lines/{line.pk}/", **reader)
    assert response.status_code == 200
    assert response.json()["amount"] == "200.50"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("posting_date__gte=2026-02-01", ["feb", "mar"]),
        ("posting_date__gte=2026-01-01&posting_date__lte=2026-02-28", ["feb", "jan"]),
        ("posting_date=2026-03-10", ["mar"]),
        ("account_external_id=6000", ["mar"]),
        ("department_external_id=D1", ["jan"]),
        ("amount__lte=0", ["mar"]),
        ("department__isnull=true", ["feb", "mar"]),
        ("source=erp", ["feb", "jan", "mar"]),
        ("source=other", []),
        ("external_id__in=jan,mar", ["jan", "mar"]),
    ],
)
def test_gl_line_filters(client, erp, reader, query, expected):
    response = client.get(f"/api/v1/gl_lines/?{query}", **reader)
    assert response.status_code == 200, response.json()
    assert ids(response) == expected


def test_filter_by_resolved_reference_id(client, erp, reader):
    account = Account.objects.get(external_id="4000")
    department = GLLine.objects.get(external_id="jan").department
    response = client.get(f"/api/v1/gl_lines/?account={account.pk}", **reader)
    assert ids(response) == ["feb", "jan"]
    response = client.get(f"/api/v1/gl_lines/?department={department.pk}", **reader)
    assert ids(response) == ["jan"]


def test_an_invalid_filter_value_is_400(client, erp, reader):
    response = client.get("/api/v1/gl_lines/?posting_date__gte=yesterday", **reader)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "value",
    ["2026-01-01T00:00:00%2B20:53", "0001-01-01T00:00:00%2B10:00", "9999-12-31T23:00:00-10:00"],
)
def test_date_times_postgresql_cannot_take_are_a_400_or_normalised_not_a_500(
    client, erp, reader, value
):
    response = client.get(f"/api/v1/gl_lines/?created_at__gte={value}", **reader)
    assert response.status_code in (200, 400)


def test_date_time_filters_are_compared_in_utc(client, erp, reader):
    line = GLLine.objects.get(external_id="jan")
    local = line.created_at.astimezone(__import__("zoneinfo").ZoneInfo("Pacific/Kiritimati"))
    query = local.isoformat().replace("+", "%2B")
    response = client.get(f"/api/v1/gl_lines/?created_at__gte={query}&ordering=id", **reader)
    assert "jan" in [row["external_id"] for row in response.json()["results"]]


def test_touchpoints_by_channel_campaign_and_time(client, reader):
    crm = ConnectorFactory(name="CRM", kind="marketing")
    ingest(
        crm,
        "channels",
        [
            {"external_id": "ads", "name": "Ads", "is_paid": True},
            {"external_id": "seo", "name": "SEO"},
        ],
    )
    ingest(crm, "campaigns", [{"external_id": "spring", "name": "Spring", "channel": "ads"}])
    ingest(crm, "contacts", [{"external_id": "c1", "name": "Ada"}])
    ingest(
        crm,
        "touchpoints",
        [
            {
                "external_id": "t1",
                "contact": "c1",
                "campaign": "spring",
                "channel": "ads",
                "occurred_at": "2026-01-05T10:00:00Z",
                "type": "click",
            },
            {
                "external_id": "t2",
                "contact": "c1",
                "channel": "seo",
                "occurred_at": "2026-02-05T10:00:00Z",
                "type": "visit",
            },
        ],
    )
    ads = Channel.objects.get(external_id="ads")
    spring = Campaign.objects.get(external_id="spring")
    assert ids(client.get(f"/api/v1/touchpoints/?channel={ads.pk}", **reader)) == ["t1"]
    assert ids(client.get(f"/api/v1/touchpoints/?campaign={spring.pk}", **reader)) == ["t1"]
    later = client.get("/api/v1/touchpoints/?occurred_at__gte=2026-02-01T00:00:00Z", **reader)
    assert ids(later) == ["t2"]
    assert ids(client.get("/api/v1/touchpoints/?type__in=visit,form", **reader)) == ["t2"]


def test_deals_by_status_and_close_date(client, reader):
    crm = ConnectorFactory(name="CRM", kind="crm")
    ingest(
        crm,
        "deals",
        [
            {
                "external_id": "d1",
                "amount": "1000.00",
                "currency": "EUR",
                "status": "won",
                "created_at": "2026-01-01T00:00:00Z",
                "closed_at": "2026-02-01T00:00:00Z",
            },
            {
                "external_id": "d2",
                "amount": "500.00",
                "currency": "EUR",
                "status": "lost",
                "created_at": "2026-01-01T00:00:00Z",
                "closed_at": "2026-03-01T00:00:00Z",
            },
            {
                "external_id": "d3",
                "amount": "10.00",
                "currency": "EUR",
                "created_at": "2026-01-01T00:00:00Z",
            },
        ],
    )
    assert ids(client.get("/api/v1/deals/?status=won", **reader)) == ["d1"]
    closed_q1 = "closed_at__gte=2026-01-15T00:00:00Z&closed_at__lt=2026-02-15T00:00:00Z"
    assert ids(client.get(f"/api/v1/deals/?{closed_q1}", **reader)) == ["d1"]
    assert ids(client.get("/api/v1/deals/?status__in=won,lost", **reader)) == ["d1", "d2"]


def test_ordering(client, erp, reader):
    response = client.get("/api/v1/gl_lines/?ordering=-amount", **reader)
    assert [row["external_id"] for row in response.json()["results"]] == ["feb", "jan", "mar"]
    response = client.get("/api/v1/gl_lines/?ordering=posting_date", **reader)
    assert [row["external_id"] for row in response.json()["results"]] == ["jan", "feb", "mar"]


def test_big_tables_are_cursor_paginated_without_gaps_or_repeats(client, reader):
    source = ConnectorFactory(name="ERP")
    ingest(source, "gl_lines", [gl_line(f"gl-{i:03}") for i in range(25)])
    seen, url, pages = [], "/api/v1/gl_lines/?page_size=10", 0
    while url:
        body = client.get(url, **reader).json()
        assert "count" not in body  # no COUNT(*) over a big table
        seen += [row["external_id"] for row in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert sorted(seen) == [f"gl-{i:03}" for i in range(25)]
    assert seen == sorted(seen, reverse=True)  # newest (highest id) first


def test_small_tables_are_page_numbered(client, erp, reader):
    body = client.get("/api/v1/accounts/", **reader).json()
    assert body["count"] == 2


def test_listing_is_set_based(client, reader, django_assert_max_num_queries):
    source = ConnectorFactory(name="ERP")
    ingest(source, "gl_lines", [gl_line(f"gl-{i}") for i in range(60)])
    # Token lookup + last-used stamp + the page: never one query per row.
    with django_assert_max_num_queries(3):
        response = client.get("/api/v1/gl_lines/?page_size=60", **reader)
    assert len(response.json()["results"]) == 60


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_every_entity_has_a_read_endpoint(client, reader, entity):
    response = client.get(f"/api/v1/{entity}/", **reader)
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("path", ["currencies", "ingest-batches"])
def test_reference_and_bookkeeping_endpoints(client, erp, reader, path):
    response = client.get(f"/api/v1/{path}/", **reader)
    assert response.status_code == 200
    assert response.json()["results"]


def test_rejected_records_are_readable_with_their_reasons(client, erp, reader):
    ingest_records(source=erp, entity="gl_lines", records=[gl_line("bad", "1.001")], actor=Actor())
    response = client.get("/api/v1/rejected-records/?entity=gl_lines", **reader)
    [row] = response.json()["results"]
    assert row["external_id"] == "bad"
    assert row["errors"] == {"amount": ["Ensure that there are no more than 2 decimal places."]}
