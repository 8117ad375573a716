"""API tokens: creation (hashed, shown once), revocation, authentication and its principal."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIRequestFactory

from connectors.authentication import READ_ALL_SCOPE, ApiTokenAuthentication, ApiTokenPrincipal
from connectors.models import ApiToken
from connectors.services import (
    api_token_create,
    api_token_revoke,
    api_token_touch,
    token_hash,
    token_split,
)
from tests.connectors.helpers import make_token
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db


def authenticate(header: str):
    request = APIRequestFactory().get("/api/v1/gl_lines/", HTTP_AUTHORIZATION=header)
    return ApiTokenAuthentication().authenticate(request)


def test_a_token_is_stored_hashed_and_its_plaintext_returned_once():
    token, plaintext = make_token()
    prefix, secret = token_split(plaintext)
    assert plaintext.startswith("fh_")
    assert token.prefix == prefix and len(prefix) == 12
    assert len(secret) >= 43  # 32 random bytes
    assert token.key_hash == token_hash(secret)
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert secret not in str(stored)


def test_every_token_is_different():
    connector = ConnectorFactory()
    plaintexts = {api_token_create(connector=connector, name=f"t{i}")[1] for i in range(5)}
    assert len(plaintexts) == 5


@pytest.mark.parametrize("text", ["", "fh_", "fh__x", "fh_abc_", "xx_abc_def", "abc", "fh_abc"])
def test_malformed_tokens_do_not_split(text):
    assert token_split(text) is None


def test_a_secret_containing_underscores_splits_on_the_first_two():
    assert token_split("fh_0123456789ab_se_cr_et") == ("0123456789ab", "se_cr_et")


def test_authentication_returns_the_principal_and_the_token():
    token, plaintext = make_token(can_read=True, scopes=[READ_ALL_SCOPE])
    user, auth = authenticate(f"Bearer {plaintext}")
    assert auth == token
    assert isinstance(user, ApiTokenPrincipal)
    assert user.is_authenticated and not user.is_staff
    assert user.has_perm("records.view_glline")
    assert not user.has_perm("records.change_glline")
    assert not user.has_perm("roadmap.view_workitem")
    assert not user.has_perm("connectors.view_apitoken")
    assert user.has_perm("core.view_dashboards")  # the computed metrics endpoints
    assert not user.has_perm("core.change_heartbeat")


def test_a_token_without_read_grant_has_no_view_permission():
    _, plaintext = make_token(can_read=False)
    user, _ = authenticate(f"Bearer {plaintext}")
    assert not user.has_perm("records.view_glline")
    assert not user.has_perm("core.view_dashboards")


def test_other_schemes_are_left_to_other_authenticators():
    assert authenticate("Basic dXNlcjpwdw==") is None


def test_revocation_is_recorded_once():
    token, _ = make_token()
    api_token_revoke(token=token)
    first = token.revoked_at
    assert first is not None
    api_token_revoke(token=token)
    token.refresh_from_db()
    assert token.revoked_at == first
    assert not token.has_scope("anything")


def test_scopes_and_entities():
    token, _ = make_token(entities=["gl_lines", "deals"], scopes=["roadmap.measurements"])
    assert token.has_scope("roadmap.measurements")
    assert not token.has_scope("roadmap.admin")
    assert token.allows_entity("deals")
    assert not token.allows_entity("touchpoints")
    token.can_write = False
    assert not token.allows_entity("deals")


def test_last_used_is_written_at_most_once_a_minute(django_assert_num_queries):
    token, _ = make_token()
    with django_assert_num_queries(1):
        api_token_touch(token=token)
    first = token.last_used_at
    with django_assert_num_queries(0):
        api_token_touch(token=token)
    token.last_used_at = timezone.now() - timedelta(minutes=2)
    with django_assert_num_queries(1):
        api_token_touch(token=token)
    assert token.last_used_at > first


def test_authenticating_records_the_use(client):
    token, plaintext = make_token(can_read=True)
    assert (
        client.get("/api/v1/gl_lines/", HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code == 200
    )
    token.refresh_from_db()
    assert token.last_used_at is not None
