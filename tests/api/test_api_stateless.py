"""The API takes the stateless middleware stack: a browser's session never reaches it."""

from api_helpers import ApiClient
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedesk.users.models import UserSession

SESSIONS = UserSession._meta.db_table


def test_an_api_call_with_a_browser_session_cookie_never_reads_the_session(client, school):
    """The session (and the profile language kept in it) belongs to the browser, not the API."""
    school.principal.language = "en"
    school.principal.save(update_fields=["language"])
    client.force_login(school.principal)
    session = client.session
    session["feedesk_language"] = "en"
    session.save()
    api = ApiClient(school.principal, client=client)
    student = school.student()
    assert api.get(f"/students/{student.pk}/account").status_code == 200  # notes the token's use

    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/students/{student.pk}/account")
    assert response.status_code == 200
    assert not any(SESSIONS in q["sql"] for q in queries)
    # No Accept-Language: the school's default, not the profile language the session keeps.
    assert response["Content-Language"] == "zh-hans"
    assert not response.cookies

    # The same cookie on a page does bring the session and its language.
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/")
    assert any(SESSIONS in q["sql"] for q in queries)
    assert page["Content-Language"] == "en"
