"""The period picker's year (issue #18, item 1): rendered as a plain number the browser
accepts, and an empty year is refused instead of silently becoming the current year."""

import datetime as dt

import pytest
from django.http import QueryDict

from dashboards.period import PeriodError, period_from_params
from finhub.core.calendar import YTD

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 2)


def test_an_empty_year_is_an_error_not_the_current_year():
    with pytest.raises(PeriodError, match="year: required"):
        period_from_params(QueryDict("period=ytd&year="), default=YTD, today=TODAY)
    with pytest.raises(PeriodError, match="year: 'abc' is not a year"):
        period_from_params(QueryDict("period=ytd&year=abc"), default=YTD, today=TODAY)
    with pytest.raises(PeriodError, match="is not a year"):
        period_from_params(QueryDict("period=ytd&year=2%2C025"), default=YTD, today=TODAY)


def test_a_year_to_date_without_a_year_is_the_current_year():
    period = period_from_params(QueryDict("period=ytd"), default=YTD, today=TODAY)
    assert (period.start, period.end) == (dt.date(2026, 1, 1), TODAY)
    past = period_from_params(QueryDict("period=ytd&year=2025"), default=YTD, today=TODAY)
    assert (past.start, past.end) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


@pytest.mark.parametrize(
    "url", ["/dashboards/cac/", "/dashboards/marketing/", "/dashboards/sales/"]
)
def test_the_year_field_is_an_unlocalised_number(url, viewer_client, settings):
    settings.USE_THOUSAND_SEPARATOR = True
    html = viewer_client.get(url, {"period": "ytd", "year": "2025"}).content.decode()
    assert 'name="year" min="1990" max="2200" step="1" required value="2025"' in html
    assert "2,025" not in html


def test_an_empty_year_answers_400_naming_it(viewer_client):
    response = viewer_client.get("/dashboards/cac/", {"period": "ytd", "year": ""})
    assert response.status_code == 400
    assert "year: required when period=ytd." in response.content.decode()
