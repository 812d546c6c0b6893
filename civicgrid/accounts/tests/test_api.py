"""API tokens: the caller's own, created from a session, revoked; and the management command."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from civicgrid.accounts.api import issue_token
from civicgrid.accounts.models import ApiToken
from civicgrid.core.models import AuditEntry

API = "/api/v1"


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_create_token_shows_secret_once_and_it_works(personas):
    client = as_user(personas["community_worker"])
    response = client.post(f"{API}/tokens", {"name": "hotline"}, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    key = body["key"]
    assert key.startswith("cg_") and body["prefix"] == key[:10]
    token = ApiToken.objects.get(pk=body["id"])
    assert token.key_hash == ApiToken.hash_key(key) and key not in token.key_hash
    listed = client.get(f"{API}/tokens").json()
    assert [t["id"] for t in listed] == [token.pk]
    assert "key" not in listed[0]
    assert AuditEntry.objects.filter(
        object_type="accounts.apitoken", object_id=str(token.pk), action="create"
    ).exists()
    me = Client().get(f"{API}/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert me.json()["username"] == "community_worker"


def test_token_name_is_required(personas):
    client = as_user(personas["grid_worker"])
    response = client.post(f"{API}/tokens", {"name": ""}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
    response = client.post(f"{API}/tokens", {}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"


def test_tokens_are_private_to_their_owner(personas):
    token, _ = issue_token(personas["grid_worker"], "mine", actor=None)
    other = as_user(personas["outsider"])
    assert other.get(f"{API}/tokens").json() == []
    assert other.delete(f"{API}/tokens/{token.pk}").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_token_stops_it(personas):
    token, key = issue_token(personas["grid_worker"], "phone", actor=None)
    client = as_user(personas["grid_worker"])
    assert client.delete(f"{API}/tokens/{token.pk}").status_code == 204
    assert Client().get(f"{API}/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    token.refresh_from_db()
    first = token.revoked_at
    assert first is not None
    assert client.delete(f"{API}/tokens/{token.pk}").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at == first


def test_a_token_cannot_mint_tokens(personas):
    _, key = issue_token(personas["grid_worker"], "phone", actor=None)
    response = Client().post(
        f"{API}/tokens",
        {"name": "more"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 403
    assert ApiToken.objects.count() == 1


def test_tokens_need_authentication(db):
    assert Client().get(f"{API}/tokens").status_code == 401
    assert Client().post(f"{API}/tokens", {"name": "x"}, "application/json").status_code == 401


def test_create_api_token_command_prints_the_secret_once(personas):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_token", "district_officer", "--name", "dashboard", stdout=out, stderr=err
    )
    key = out.getvalue().strip()
    token = ApiToken.objects.get(user=personas["district_officer"])
    assert token.name == "dashboard" and token.key_hash == ApiToken.hash_key(key)
    assert key not in err.getvalue()
    response = Client().get(f"{API}/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.json()["username"] == "district_officer"


def test_create_api_token_command_refuses_unknown_user_or_blank_name(personas):
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "nobody", "--name", "x", stdout=io.StringIO())
    with pytest.raises(CommandError, match="name"):
        call_command("create_api_token", "grid_worker", "--name", " ", stdout=io.StringIO())
    assert not ApiToken.objects.exists()
