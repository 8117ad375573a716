"""The API error format is set once (REST_FRAMEWORK's EXCEPTION_HANDLER) for every app."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/v1/metrics/attribution/", "permission_denied"),
        ("/api/v1/roadmap/phases/", "permission_denied"),
        ("/api/v1/gl_lines/", "permission_denied"),
    ],
)
def test_a_refusal_carries_detail_and_code_in_every_app(api, no_role_user, path, code):
    api.force_authenticate(no_role_user)
    response = api.get(path)
    assert response.status_code == 403
    assert response.json() == {
        "detail": "You do not have permission to perform this action.",
        "code": code,
    }


def test_not_found_carries_its_code(api, finance_viewer):
    api.force_authenticate(finance_viewer)
    response = api.get("/api/v1/roadmap/metrics/no-such-key/")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "No SuccessMetric matches the given query.",
        "code": "not_found",
    }


def test_validation_errors_keep_the_field_messages_without_a_code(api, finance_viewer):
    api.force_authenticate(finance_viewer)
    response = api.get("/api/v1/metrics/attribution/", {"model": "no-such-model"})
    assert response.status_code == 400
    body = response.json()
    assert "model" in body
    assert "code" not in body
