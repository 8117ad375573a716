"""A revoked token is refused without telling its holder anything about the revocation."""

import re

import pytest

from connectors.services import api_token_revoke
from tests.connectors.helpers import bearer, make_token, post_json

pytestmark = pytest.mark.django_db


def test_the_revoked_tokens_401_does_not_say_when(client):
    token, plaintext = make_token(can_read=True)
    api_token_revoke(token=token)
    for response in (
        client.get("/api/v1/gl_lines/", **bearer(plaintext)),
        post_json(client, "/api/v1/ingest/gl_lines/", [], token=plaintext),
    ):
        assert response.status_code == 401
        detail = response.json()["detail"]
        assert detail == "This API token has been revoked."
        assert not re.search(r"\d", detail)
