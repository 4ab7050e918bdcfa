"""`GET /classes/{id}/sessions`: the class's real sessions, with the ids `POST /attendance` takes."""

import datetime
import json

import pytest
from api_helpers import ApiClient, assert_conforms, assert_error
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedesk.attendance.models import Attendance, Session
from feedesk.attendance.services import cancel_session, generate_sessions, reschedule_session
from feedesk.core.permissions import Role
from feedesk.users.models import User

PATH = "/classes/{class_id}/sessions"
SEPTEMBER = {"start": datetime.date(2026, 9, 1), "end": datetime.date(2026, 9, 30)}


def listed(api: ApiClient, klass, **params) -> dict:
    response = api.get(f"/classes/{klass.pk}/sessions", **params)
    assert response.status_code == 200, response.content
    return assert_conforms(response, "get", PATH)


def dates(body: dict) -> list[str]:
    return [item["date"] for item in body["items"]]


def present(session_id: int, student) -> dict:
    return {"session_id": session_id, "student_id": student.pk, "status": "present"}


@pytest.fixture
def september(school):
    """The package class's September sessions, generated as staff do: the Saturdays 5, 12 and 19
    (26 September is in the 2026 Mid-Autumn holiday)."""
    generate_sessions(actor=school.principal, class_group=school.klass, **SEPTEMBER)
    return list(Session.objects.filter(class_group=school.klass).order_by("date"))


def test_listed_ids_are_the_sessions_attendance_is_taken_on(school, roll, september):
    student, _enrolment = roll.enrol()
    api = ApiClient(school.cashier)
    body = listed(api, school.klass)
    assert body["class_id"] == school.klass.pk and body["count"] == 3
    assert dates(body) == ["2026-09-05", "2026-09-12", "2026-09-19"]
    assert [item["id"] for item in body["items"]] == [s.pk for s in september]
    first = body["items"][0]
    assert first == {
        "id": september[0].pk,
        "date": "2026-09-05",
        "start": "2026-09-05T09:00:00+08:00",
        "end": "2026-09-05T10:30:00+08:00",
        "hours": "1.00",
        "status": "scheduled",
        "kind": "regular",
        "instructor_id": school.instructor.pk,
        "original_date": None,
        "note": "",
        "attendance_taken": False,
        "roll_called_at": None,
        "student_ids": [],
    }

    mark = api.post("/attendance", present(first["id"], student))
    assert mark.status_code == 201, mark.content
    assert Attendance.objects.filter(session_id=first["id"], student=student, status="present").exists()

    after = listed(api, school.klass)["items"]
    assert after[0]["attendance_taken"] is True
    assert datetime.datetime.fromisoformat(after[0]["roll_called_at"]).tzinfo is not None
    assert [item["attendance_taken"] for item in after[1:]] == [False, False]


def test_a_class_whose_sessions_are_not_generated_lists_none(school):
    body = listed(ApiClient(school.principal), school.klass, **{"from": "2026-09-01", "to": "2026-12-31"})
    assert (body["items"], body["count"]) == ([], 0)


def test_date_filter_and_paging(school):
    generate_sessions(actor=school.principal, class_group=school.klass)
    api = ApiClient(school.principal)
    everything = listed(api, school.klass, limit=500)
    generated = Session.objects.filter(class_group=school.klass).count()
    assert everything["count"] == len(everything["items"]) == generated > 10
    assert dates(everything) == sorted(dates(everything))
    # National Day week: 3 October is a statutory holiday, so October has the 10th, 17th, 24th, 31st.
    october = listed(api, school.klass, **{"from": "2026-10-01", "to": "2026-10-31"})
    assert dates(october) == ["2026-10-10", "2026-10-17", "2026-10-24", "2026-10-31"]
    assert dates(listed(api, school.klass, **{"from": "2026-10-17", "to": "2026-10-17"})) == ["2026-10-17"]
    assert dates(listed(api, school.klass, to="2026-09-12")) == ["2026-09-05", "2026-09-12"]
    since = listed(api, school.klass, **{"from": "2027-01-20"})
    assert dates(since) == ["2027-01-23", "2027-01-30"]
    assert listed(api, school.klass, **{"from": "2026-10-31", "to": "2026-10-01"})["count"] == 0

    page = listed(api, school.klass, **{"from": "2026-10-01", "to": "2026-10-31", "limit": 3, "offset": 2})
    assert (dates(page), page["count"]) == (["2026-10-24", "2026-10-31"], 4)
    assert_error(api.get(f"/classes/{school.klass.pk}/sessions", limit=0), 422, "invalid_request")
    assert_error(api.get(f"/classes/{school.klass.pk}/sessions", **{"from": "not-a-date"}), 422)


def test_cancelled_moved_and_extra_sessions_are_listed_as_they_are(school, roll, september):
    substitute = User.objects.create_user(
        "school-substitute", password="pw-123456", organization=school.org, role=Role.INSTRUCTOR
    )
    first, second, third = september
    cancel_session(actor=school.principal, session=first, reason="教室维修")
    reschedule_session(
        actor=school.principal,
        session=second,
        date=datetime.date(2026, 9, 13),
        start_time=datetime.time(14),
        end_time=datetime.time(16),
        instructor=substitute,
        note="调到周日",
    )
    extra = roll.session(date=datetime.date(2026, 9, 20))
    items = {item["id"]: item for item in listed(ApiClient(school.principal), school.klass)["items"]}

    assert set(items) == {first.pk, second.pk, third.pk, extra.pk}
    assert (items[first.pk]["status"], items[first.pk]["note"]) == ("cancelled", "教室维修")
    moved = items[second.pk]
    assert (moved["date"], moved["original_date"], moved["start"], moved["end"]) == (
        "2026-09-13",
        "2026-09-12",
        "2026-09-13T14:00:00+08:00",
        "2026-09-13T16:00:00+08:00",
    )
    assert (moved["instructor_id"], moved["status"]) == (substitute.pk, "scheduled")
    assert moved["note"] == "调到周日"
    assert (items[extra.pk]["kind"], items[third.pk]["kind"]) == ("extra", "regular")


def test_a_make_up_session_lists_the_students_it_is_for(school, roll, september):
    a, _ea = roll.enrol(name="甲")
    b, _eb = roll.enrol(name="乙")
    c, _ec = roll.enrol(name="丙")
    makeup = roll.session(date=datetime.date(2026, 9, 20), students=[c, a])
    other = roll.session(date=datetime.date(2026, 9, 21), students=[b])
    whole = roll.session(date=datetime.date(2026, 9, 22))
    api = ApiClient(school.principal)
    items = {item["id"]: item for item in listed(api, school.klass)["items"]}
    assert items[makeup.pk]["student_ids"] == sorted([a.pk, c.pk])
    assert items[other.pk]["student_ids"] == [b.pk]
    assert items[whole.pk]["student_ids"] == []
    assert all(items[s.pk]["student_ids"] == [] for s in september)

    # The names come in one statement for the page, however many extra sessions it has.
    def statements() -> int:
        with CaptureQueriesContext(connection) as captured:
            listed(api, school.klass)
        return len(captured.captured_queries)

    before = statements()
    for day in (23, 24, 25):
        roll.session(date=datetime.date(2026, 9, day), students=[a])
    assert statements() == before

    # POST /attendance follows the session's list.
    refused = api.post("/attendance", present(makeup.pk, b))
    error = assert_error(refused, 400, "not_for_this_session")
    assert "乙" in error["message"]
    assert not Attendance.objects.filter(session=makeup).exists()
    assert api.post("/attendance", present(makeup.pk, a)).status_code == 201


def test_another_organization_s_or_campus_s_class_is_404(school, other_school):
    generate_sessions(actor=other_school.principal, class_group=other_school.klass, **SEPTEMBER)
    api = ApiClient(school.principal)
    for params in ({}, {"from": "2026-09-01", "to": "2026-09-30"}):
        response = api.get(f"/classes/{other_school.klass.pk}/sessions", **params)
        error = assert_error(response, 404, "not_found")
        assert "2026-09" not in json.dumps(error) and "session" not in json.dumps(error["details"])
        assert_conforms(response, "get", PATH)

    far_class = school.make_class(school.package_course, name="分校班", campus=school.campus2)
    generate_sessions(actor=school.principal, class_group=far_class, **SEPTEMBER)
    school.cashier.campuses.set([school.campus])
    cashier = ApiClient(school.cashier)
    assert_error(cashier.get(f"/classes/{far_class.pk}/sessions"), 404, "not_found")
    assert listed(cashier, school.klass)["count"] == 0  # our own campus's class: visible, none generated


def test_an_instructor_lists_the_sessions_they_teach(school, roll, september):
    """As on the staff pages: an instructor sees their classes' sessions and those they substitute in."""
    student, _enrolment = roll.enrol()
    substitute = User.objects.create_user(
        "school-substitute", password="pw-123456", organization=school.org, role=Role.INSTRUCTOR
    )
    covered = reschedule_session(
        actor=school.principal,
        session=september[1],
        date=september[1].date,
        start_time=september[1].start_time,
        end_time=september[1].end_time,
        instructor=substitute,
    )
    ids = [s.pk for s in september]
    assert [i["id"] for i in listed(ApiClient(school.instructor), school.klass)["items"]] == ids
    assert [i["id"] for i in listed(ApiClient(school.principal), school.klass)["items"]] == ids

    api = ApiClient(substitute)
    body = listed(api, school.klass)
    assert ([i["id"] for i in body["items"]], body["count"]) == ([covered.pk], 1)
    taken = api.post("/attendance", present(covered.pk, student))
    assert taken.status_code == 201, taken.content
    assert_error(api.post("/attendance", present(ids[0], student)), 404, "not_found")
