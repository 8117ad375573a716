"""API reliability: the sync client counts logical calls by outcome, writes them once per
client, and the 30-day figure is shown per connector and pushed to the scorecard."""

import datetime as dt
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from connectors.models import Connector, SourceCallDay
from connectors.selectors import (
    ReliabilityRow,
    api_reliability_by_connector,
    api_reliability_overall,
    connector_health_list,
)
from connectors.services import api_reliability_push, source_calls_record
from connectors.sync.calls import CallCounts, call_outcome
from connectors.sync.errors import (
    LockLostError,
    SourceAuthError,
    SourceError,
    TransientSourceError,
)
from connectors.sync.http import SourceClient
from roadmap.models import Measurement
from tests.connectors.sync.helpers import run_sync, sandbox_connector
from tests.factories import SuccessMetricFactory

BASE = "http://source.test/api/v1"


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.FINHUB_SYNC_MAX_ATTEMPTS = 4
    settings.FINHUB_SYNC_BACKOFF_SECONDS = 0.001
    settings.FINHUB_SYNC_BACKOFF_MAX_SECONDS = 0.05
    settings.FINHUB_SYNC_TIMEOUT_SECONDS = 2


def scripted(*responses):
    """A transport answering the responses in turn (the last one for ever after)."""
    queue = list(responses)

    def handler(request):
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.MockTransport(handler)


def ok():
    return httpx.Response(200, json={"data": []})


def make_connector(name="ERP"):
    return Connector.objects.create(
        name=name, kind="erp", transport="rest_pull", base_url=BASE, auth_type="none"
    )


def client_for(connector, transport):
    return SourceClient(connector, transport=transport, credentials={}, sleep=lambda s: None)


def counts_of(client) -> CallCounts:
    (counts,) = client.calls.days.values()
    return counts


# --- counting one logical call --------------------------------------------------------------


def test_a_call_failing_twice_then_succeeding_is_one_retried_success():
    connector = Connector(name="S", kind="erp", transport="rest_pull", base_url=BASE)
    client = client_for(connector, scripted(httpx.Response(500), httpx.ReadTimeout("t"), ok()))
    assert client.get_json("gl-lines") == {"data": []}
    counts = counts_of(client)
    assert (counts.calls, counts.succeeded, counts.retried_succeeded) == (1, 1, 1)
    assert (counts.failed_source, counts.failed_finhub, counts.attempts) == (0, 0, 3)


def test_5xx_until_the_attempts_run_out_is_one_source_failure():
    connector = Connector(name="S", kind="erp", transport="rest_pull", base_url=BASE)
    client = client_for(connector, scripted(httpx.Response(503)))
    with pytest.raises(TransientSourceError, match="Gave up after 4 attempts"):
        client.get_json("gl-lines")
    counts = counts_of(client)
    assert (counts.calls, counts.succeeded, counts.failed_source, counts.failed_finhub) == (
        1,
        0,
        1,
        0,
    )
    assert counts.attempts == 4


@pytest.mark.parametrize("status", [400, 404, 422, 401, 403])
def test_a_4xx_to_finhubs_own_request_is_a_finhub_failure(status):
    connector = Connector(name="S", kind="erp", transport="rest_pull", base_url=BASE)
    client = client_for(connector, scripted(httpx.Response(status, text="no such resource")))
    with pytest.raises(SourceError if status not in (401, 403) else SourceAuthError):
        client.get_json("gl-linez")
    counts = counts_of(client)
    assert (counts.calls, counts.failed_finhub, counts.failed_source, counts.attempts) == (
        1,
        1,
        0,
        1,
    )


def test_429_given_up_and_an_html_200_are_source_failures():
    connector = Connector(name="S", kind="erp", transport="rest_pull", base_url=BASE)
    limited = httpx.Response(429, headers={"Retry-After": "0"})
    html = httpx.Response(200, text="<html>oops</html>", headers={"Content-Type": "text/html"})
    client = client_for(connector, scripted(limited))
    with pytest.raises(TransientSourceError):
        client.get_json("a")
    client2 = client_for(connector, scripted(html))
    with pytest.raises(TransientSourceError):
        client2.get_json("a")
    assert counts_of(client).failed_source == counts_of(client2).failed_source == 1


def test_outcomes_of_errors():
    assert call_outcome(None) == "succeeded"
    assert call_outcome(SourceError("x", status_code=404)) == "failed_finhub"
    assert call_outcome(SourceError("unexpected 302", status_code=302)) == "failed_source"
    assert call_outcome(SourceError("empty token")) == "failed_source"
    assert call_outcome(SourceAuthError("x", status_code=401)) == "failed_finhub"
    assert call_outcome(TransientSourceError("x", status_code=502)) == "failed_source"
    # FinHub stopped the run while waiting to retry: the source never answered; not counted.
    assert call_outcome(LockLostError("lease lapsed")) is None


# --- written once per client ------------------------------------------------------------------


@pytest.mark.django_db
def test_counts_are_written_once_when_the_client_closes(django_assert_num_queries):
    connector = make_connector()
    transport = scripted(httpx.Response(502), ok())
    client = client_for(connector, transport)
    with django_assert_num_queries(0):
        for _ in range(50):
            client.get_json("gl-lines")
    # One UPDATE (0 rows: a new day) and the INSERT, in their transaction and savepoint.
    with django_assert_num_queries(6):
        client.close()
    row = SourceCallDay.objects.get()
    assert (row.connector_id, row.day) == (connector.pk, timezone.localdate())
    assert (row.calls, row.succeeded, row.retried_succeeded, row.attempts) == (50, 50, 1, 51)
    client.close()  # closing twice adds nothing
    assert SourceCallDay.objects.get().calls == 50

    # A second client the same day adds to the row (an UPDATE adding in SQL).
    with client_for(connector, scripted(httpx.Response(404))) as second, pytest.raises(SourceError):
        second.get_json("missing")
    row.refresh_from_db()
    assert (row.calls, row.succeeded, row.failed_finhub, row.failed_source) == (51, 50, 1, 0)
    assert SourceCallDay.objects.count() == 1


@pytest.mark.django_db
def test_recording_adds_to_an_existing_day():
    connector = make_connector()
    day = dt.date(2026, 11, 5)
    source_calls_record(connector_id=connector.pk, days={day: CallCounts(3, 2, 1, 1, 0, 5)})
    source_calls_record(connector_id=connector.pk, days={day: CallCounts(2, 1, 0, 0, 1, 2)})
    row = SourceCallDay.objects.get()
    assert (row.calls, row.succeeded, row.retried_succeeded) == (5, 3, 1)
    assert (row.failed_source, row.failed_finhub, row.attempts) == (1, 1, 7)


# --- the 30-day figure ------------------------------------------------------------------------

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def day_row(connector, days_ago, calls, succeeded, source=0, finhub=0, retried=0):
    assert calls == succeeded + source + finhub
    return SourceCallDay.objects.create(
        connector=connector,
        day=timezone.localdate(NOW) - dt.timedelta(days=days_ago),
        calls=calls,
        succeeded=succeeded,
        retried_succeeded=retried,
        failed_source=source,
        failed_finhub=finhub,
        attempts=calls,
    )


@pytest.mark.django_db
def test_reliability_over_30_days_per_connector_and_overall(django_assert_num_queries):
    erp, crm = make_connector("ERP"), make_connector("CRM")
    day_row(erp, 0, 1000, 995, source=3, finhub=2, retried=40)
    day_row(erp, 29, 1000, 1000)  # the 30th day back: inside
    day_row(erp, 30, 500, 0, source=500)  # 31 days back: outside the window
    day_row(crm, 5, 3, 2, source=1)
    with django_assert_num_queries(1):
        rows = api_reliability_by_connector(now=NOW)
    assert [r.connector_name for r in rows] == ["CRM", "ERP"]
    crm_row, erp_row = rows
    assert erp_row == ReliabilityRow(
        connector_id=erp.pk,
        connector_name="ERP",
        calls=2000,
        succeeded=1995,
        retried_succeeded=40,
        failed_source=3,
        failed_finhub=2,
        attempts=2000,
    )
    assert erp_row.reliability_percent == Decimal("99.75")
    assert erp_row.finhub_failure_percent == Decimal("0.10")
    # 2 / 3 = 66.666…% rounds half-up to 66.67.
    assert crm_row.reliability_percent == Decimal("66.67")
    with django_assert_num_queries(1):
        overall = api_reliability_overall(now=NOW)
    assert (overall.calls, overall.succeeded, overall.failed_finhub) == (2003, 1997, 2)
    assert overall.reliability_percent == Decimal("99.70")  # 1997 / 2003 = 99.7004…
    assert api_reliability_by_connector(days=1, now=NOW)[0].calls == 1000


@pytest.mark.django_db
def test_no_calls_means_no_figure():
    assert api_reliability_by_connector(now=NOW) == []
    assert api_reliability_overall(now=NOW).reliability_percent is None


@pytest.mark.django_db
def test_the_health_page_selector_carries_each_connectors_reliability():
    erp = make_connector("ERP")
    make_connector("CRM")
    day_row(erp, 1, 200, 199, finhub=1)
    health = {h.connector.name: h for h in connector_health_list(now=NOW)}
    assert health["ERP"].reliability.reliability_percent == Decimal("99.50")
    assert health["ERP"].reliability.failed_finhub == 1
    assert health["CRM"].reliability is None


# --- pushed to the scorecard ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_push_records_the_measurement_about_the_day():
    SuccessMetricFactory(key="api_reliability")
    day_row(make_connector(), 0, 400, 397, source=1, finhub=2)
    now = timezone.now()
    SourceCallDay.objects.update(day=timezone.localdate(now))  # today, whatever the date
    assert api_reliability_push(now=now) is True
    measurement = Measurement.objects.get(metric__key="api_reliability")
    assert measurement.value == Decimal("99.25")
    assert measurement.source == "auto:connectors.api_reliability"
    assert measurement.period == timezone.localdate(now).isoformat()
    assert measurement.note == "400 calls over 30 days, 2 FinHub-side failures"


@pytest.mark.django_db
def test_the_push_is_quiet_without_the_metric_or_without_calls():
    assert api_reliability_push() is False  # no call made
    day_row(make_connector(), 0, 10, 10)
    SourceCallDay.objects.update(day=timezone.localdate())
    assert api_reliability_push() is False  # the programme has no such metric
    assert not Measurement.objects.exists()


@pytest.mark.django_db
def test_a_real_sync_counts_its_calls_and_updates_the_scorecard(sandbox):
    """The issue's "updates automatically": a sync against the sandbox, whose first two
    requests fail with 503, is counted per call and pushes api_reliability."""
    SuccessMetricFactory(key="api_reliability")
    connector = sandbox_connector(sandbox, "erp", entities=("departments",), page_size=100)
    sandbox.faults([{"fault": "http_503", "path": "/erp", "times": 2}])
    run = run_sync(connector)
    assert run.status == "succeeded", run.message
    row = SourceCallDay.objects.get(connector=connector)
    # Every attempt the run made, the two 503s included; they were retries of the first call.
    assert row.attempts == run.requests
    assert row.calls == run.requests - 2
    assert (row.succeeded, row.retried_succeeded, row.failed_source) == (row.calls, 1, 0)
    measurement = Measurement.objects.get(metric__key="api_reliability")
    assert measurement.value == 100
    assert measurement.note == f"{row.calls} calls over 30 days, 0 FinHub-side failures"

    # A run that fails on a resource the source does not have: a FinHub-side failure.
    connector.sync_config = {
        "entities": [{**connector.sync_config["entities"][0], "resource": "no-such-thing"}]
    }
    connector.save()
    failed = run_sync(connector)
    assert failed.status == "failed"
    row.refresh_from_db()
    assert row.failed_finhub == 1
    latest = Measurement.objects.filter(metric__key="api_reliability").latest("measured_at")
    expected = (Decimal(row.succeeded) * 100 / row.calls).quantize(Decimal("0.01"))
    assert latest.value == expected < 100


@pytest.mark.django_db
def test_the_health_page_shows_reliability_with_finhub_failures_apart(client, integration_admin):
    connector = Connector.objects.create(
        name="ERP", kind="erp", transport="rest_pull", base_url=BASE, auth_type="none"
    )
    SourceCallDay.objects.create(
        connector=connector,
        day=timezone.localdate(),
        calls=400,
        succeeded=396,
        retried_succeeded=7,
        failed_source=1,
        failed_finhub=3,
    )
    client.force_login(integration_admin)
    body = client.get("/connectors/health/").content.decode()
    assert ">99.00%</span>" in body
    assert (
        "396 of 400 calls succeeded (7 after retries); 1 failed at the source, 3 FinHub-side"
        in body
    )
    assert "<strong>3 FinHub-side</strong>" in body
