import pytest
from django.urls import reverse


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/api/docs/"])
def test_pages_redirect_anonymous_users_to_login(client, path):
    response = client.get(path)
    if path.startswith("/api/"):
        assert response.status_code in (401, 403)
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_api_schema_needs_authentication(client):
    assert client.get("/api/schema/").status_code in (401, 403)


@pytest.mark.django_db
def test_admin_sends_anonymous_users_to_its_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_login_page_is_public(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Log in to FinHub" in response.content


@pytest.mark.django_db
def test_login_then_home_shows_navigation(client, finance_viewer):
    response = client.post(
        reverse("login"), {"username": "fiona", "password": "pw-for-tests"}, follow=True
    )
    assert response.status_code == 200
    assert response.context["user"].username == "fiona"
    assert b"Log out" in response.content


@pytest.mark.django_db
def test_wrong_password_is_refused(client, finance_viewer):
    response = client.post(reverse("login"), {"username": "fiona", "password": "nope"})
    assert response.status_code == 200
    assert b"match" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_logged_in_user_reads_schema_and_docs(client, finance_viewer):
    client.force_login(finance_viewer)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    # Swagger UI comes from the sidecar package, served locally: no CDN in the page.
    assert b"cdn" not in docs.content.lower()


@pytest.mark.django_db
def test_logout_is_a_post(client, finance_viewer):
    client.force_login(finance_viewer)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get("/").status_code == 302
