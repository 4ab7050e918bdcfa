"""API tokens: stored hashed, printed once by the command, created and revoked by staff."""

import hashlib
import io

import pytest
from api_helpers import ApiClient, assert_error
from django.core.management import call_command
from django.core.management.base import CommandError

from feedesk.api.models import ApiToken
from feedesk.api.services import create_api_token, revoke_api_token
from feedesk.core.errors import NotFound, PermissionDenied


def test_only_the_hash_and_a_short_prefix_are_stored(school):
    token, raw = create_api_token(actor=school.cashier, user=school.cashier, name="website")
    assert raw.startswith("fd_") and len(raw) > 40
    token.refresh_from_db()
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.token_hash, token.prefix, token.name}
    assert raw.startswith(token.prefix) and len(token.prefix) == 10


def test_command_prints_a_working_token_once(school):
    out = io.StringIO()
    call_command("create_api_token", username=school.finance.username, stdout=out)
    raw = out.getvalue().strip()
    client = ApiClient(school.finance)
    client.token = raw
    assert client.get("/ledger/verify").status_code == 200
    with pytest.raises(CommandError):
        call_command("create_api_token", username="nobody", stdout=io.StringIO())


def test_revoked_or_deactivated_tokens_stop_working(school):
    student = school.student()
    api = ApiClient(school.cashier)
    assert api.get(f"/students/{student.pk}").status_code == 200
    token = ApiToken.objects.get(user=school.cashier)
    revoke_api_token(actor=school.cashier, token=token)
    assert_error(api.get(f"/students/{student.pk}"), 401, "not_authenticated")
    other = ApiClient(school.adviser)
    school.adviser.is_active = False
    school.adviser.save()
    assert_error(other.get(f"/students/{student.pk}"), 401)


def test_staff_manage_only_their_own_tokens(school):
    token, _raw = create_api_token(actor=school.cashier, user=school.cashier, name="mine")
    with pytest.raises(PermissionDenied):
        create_api_token(actor=school.cashier, user=school.principal, name="not mine")
    with pytest.raises(NotFound):
        revoke_api_token(actor=school.principal, token=token)


def test_token_pages_create_show_once_list_and_revoke(school, client):
    client.force_login(school.cashier)
    page = client.get("/settings/api-tokens/")
    assert page.status_code == 200
    created = client.post("/settings/api-tokens/", {"name": "官网"})
    assert created.status_code == 200
    raw = created.context["new_token"]
    assert raw in created.content.decode()
    listing = client.get("/settings/api-tokens/").content.decode()
    assert "官网" in listing and raw not in listing
    token = ApiToken.objects.get(user=school.cashier)
    assert token.prefix in listing
    assert client.post("/settings/api-tokens/", {"name": " "}).status_code == 400
    revoked = client.post(f"/settings/api-tokens/{token.pk}/revoke/")
    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    client.force_login(school.principal)
    assert client.post(f"/settings/api-tokens/{token.pk}/revoke/").status_code == 404
