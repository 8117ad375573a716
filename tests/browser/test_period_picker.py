"""The period picker keeps the chosen year (issue #18, item 1): the Year field showed the
localised "2,026", which the browser rejects, so the next Apply sent ``year=`` and jumped
to the current year."""

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_year_to_date_2025_survives_a_filter_change(page, live_server, login, screenshot):
    from finhub.core import roles
    from tests.factories import ChannelFactory, user_with_role

    user_with_role(roles.FINANCE_VIEWER, username="fiona", first_name="Fiona")
    channel = ChannelFactory(name="Search", is_paid=True)
    login("fiona")
    page.goto(f"{live_server.url}/dashboards/cac/")
    page.get_by_role("heading", name="CAC monitoring").wait_for()
    page.locator("#picker-period").select_option("ytd")
    page.get_by_label("Year").fill("2025")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**year=2025**")
    assert page.get_by_label("Year").input_value() == "2025"

    page.locator("#filter-channel").select_option(label=channel.name)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"**channel={channel.pk}**")
    assert "period=ytd" in page.url and "year=2025" in page.url
    assert page.get_by_label("Year").input_value() == "2025"
    assert (
        page.locator('table[data-table="cac_months"] tbody tr')
        .first.locator("td")
        .first.inner_text()
        .startswith("Jan 2025")
    )
    screenshot("period-picker-ytd-2025")
