"""A signed-in request reads its session and its user in one statement, and Django's checks still hold."""

from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from feedesk.users.models import User, UserSession
from feedesk.users.sessions import NOT_LOADED, user_loaded_with_session


def signed_in(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.post("/login/", {"username": user.username, "password": "pw-123456"}).status_code == 302
    return client


def test_the_session_row_names_its_user_and_one_statement_reads_both(school):
    client = signed_in(school.principal)
    session = UserSession.objects.get(session_key=client.session.session_key)
    assert session.user_id == school.principal.pk
    assert session.get_decoded()[SESSION_KEY] == str(school.principal.pk)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    assert response.status_code == 200 and response.wsgi_request.user == school.principal
    reads = [q["sql"] for q in captured.captured_queries if "users_user" in q["sql"]]
    # The first statement reads the session with its user; no later one reads the user again.
    assert "users_usersession" in captured.captured_queries[0]["sql"]
    assert [q for q in reads if "users_usersession" not in q and 'FROM "users_user"' in q] == []
    assert [q for q in reads if q.lstrip().startswith("SELECT u.")] == []


def test_a_changed_password_signs_the_old_session_out(school):
    client = signed_in(school.cashier)
    school.cashier.set_password("a-new-pw-2026")
    school.cashier.save()
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_deactivated_account_is_signed_out(school):
    client = signed_in(school.adviser)
    User.objects.filter(pk=school.adviser.pk).update(is_active=False)
    assert client.get("/").status_code == 302


def test_a_system_account_is_never_the_user_of_a_session(school):
    from feedesk.gateways.models import SystemAccount

    client = signed_in(school.finance)
    SystemAccount.objects.create(user=school.finance, organization=school.org)
    assert client.get("/").status_code == 302


def test_deleting_a_user_deletes_their_sessions(school):
    leaver = User.objects.create_user("leaver", password="pw-123456", organization=school.org, role="cashier")
    client = signed_in(leaver)
    key = client.session.session_key
    leaver.delete()
    assert not UserSession.objects.filter(session_key=key).exists()


def test_signing_out_leaves_a_session_without_a_user(school):
    client = signed_in(school.principal)
    client.post("/logout/")
    assert not UserSession.objects.filter(user=school.principal).exists()
    assert client.get("/").status_code == 302


def test_the_user_read_with_a_session_is_offered_only_while_its_request_finds_its_user(school):
    client = signed_in(school.principal)
    client.get("/")
    assert user_loaded_with_session(school.principal.pk) is NOT_LOADED


def test_clearsessions_removes_expired_sessions(school):
    import datetime

    from django.core.management import call_command
    from django.utils import timezone

    client = signed_in(school.principal)
    UserSession.objects.create(
        session_key="x" * 32, session_data="", expire_date=timezone.now() - datetime.timedelta(days=1)
    )
    call_command("clearsessions")
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [client.session.session_key]
