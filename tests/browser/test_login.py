import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_finance_viewer_logs_in_and_sees_the_home_page(page, live_server, login, screenshot):
    from finhub.core import roles
    from tests.factories import user_with_role

    user_with_role(roles.FINANCE_VIEWER, username="fiona", first_name="Fiona")
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # anonymous users are sent to the login page
    login("fiona")
    assert page.get_by_role("heading", name="Welcome, Fiona").is_visible()
    screenshot("home")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")


def test_wrong_password_stays_on_login(page, live_server):
    from tests.factories import UserFactory

    UserFactory(username="fiona")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("fiona")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").is_visible()
