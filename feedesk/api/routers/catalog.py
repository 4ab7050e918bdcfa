import datetime
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from feedesk.api.idempotency import run_write
from feedesk.api.routers.common import ERRORS, actor, currency, hours, page, visible
from feedesk.api.schemas import (
    ClassIn,
    ClassOut,
    CourseIn,
    CourseOut,
    Page,
    Paging,
    PathId,
    SessionList,
    SessionOut,
    SessionRange,
    SlotOut,
    SubjectIn,
    SubjectOut,
)
from feedesk.attendance.models import Session
from feedesk.attendance.selectors import named_students, sessions_visible_to
from feedesk.catalog.models import ClassGroup, Course, Subject
from feedesk.catalog.selectors import classes_visible_to
from feedesk.catalog.services import create_class, create_course, create_subject
from feedesk.enrolment.models import Enrolment
from feedesk.organizations.models import Campus
from feedesk.users.models import User

router = Router(tags=["catalog"])


def subject_out(subject: Subject) -> SubjectOut:
    return SubjectOut(id=subject.pk, code=subject.code, name=subject.name, name_en=subject.name_en)


def course_out(course: Course, currency_code: str) -> CourseOut:
    return CourseOut(
        id=course.pk,
        subject_id=course.subject_id,
        name=course.name,
        name_en=course.name_en,
        price_model=course.price_model,
        lesson_price=course.lesson_price,
        package_hours=course.package_hours,
        package_price=course.package_price,
        gift_hours=course.gift_hours,
        term_fee=course.term_fee,
        term_hours=course.term_hours,
        materials_fee=course.materials_fee,
        registration_fee=course.registration_fee,
        currency=currency_code,
        is_active=course.is_active,
    )


def class_out(group: ClassGroup) -> ClassOut:
    enrolled = getattr(group, "enrolled", None)
    if enrolled is None:
        enrolled = Enrolment.objects.filter(class_group=group, status=Enrolment.Status.ACTIVE).count()
    return ClassOut(
        id=group.pk,
        course_id=group.course_id,
        campus_id=group.campus_id,
        name=group.name,
        instructor_id=group.instructor_id,
        head_teacher_id=group.head_teacher_id,
        capacity=group.capacity,
        enrolled=enrolled,
        start_date=group.start_date,
        end_date=group.end_date,
        session_hours=group.session_hours,
        is_active=group.is_active,
        schedule=[
            SlotOut(weekday=s.weekday, start_time=f"{s.start_time:%H:%M}", end_time=f"{s.end_time:%H:%M}")
            for s in group.schedule.all()
        ],
    )


@router.post("/subjects", response={201: SubjectOut, **ERRORS}, summary="Create a subject")
def create_subject_endpoint(request: HttpRequest, payload: SubjectIn) -> HttpResponse:
    user = actor(request)

    def work() -> tuple[int, SubjectOut]:
        subject = create_subject(actor=user, code=payload.code, name=payload.name, name_en=payload.name_en)
        return 201, subject_out(subject)

    return run_write(request, work)


@router.get("/subjects", response={200: Page[SubjectOut], **ERRORS}, summary="Subjects")
def list_subjects(request: HttpRequest, paging: Query[Paging]) -> Page[SubjectOut]:
    user = actor(request)
    items, count = page(Subject.objects.filter(organization_id=user.tenant_id).order_by("code", "pk"), paging)
    return Page[SubjectOut](items=[subject_out(s) for s in items], count=count)


@router.post("/courses", response={201: CourseOut, **ERRORS}, summary="Create a course")
def create_course_endpoint(request: HttpRequest, payload: CourseIn) -> HttpResponse:
    user = actor(request)

    def work() -> tuple[int, CourseOut]:
        subject = visible(Subject.objects.filter(organization_id=user.tenant_id), payload.subject_id)
        course = create_course(
            actor=user,
            subject=subject,
            name=payload.name,
            name_en=payload.name_en,
            price_model=payload.price_model,
            lesson_price=payload.lesson_price,
            package_hours=payload.package_hours,
            package_price=payload.package_price,
            gift_hours=payload.gift_hours,
            term_fee=payload.term_fee,
            term_hours=payload.term_hours,
            materials_fee=payload.materials_fee,
            registration_fee=payload.registration_fee,
        )
        return 201, course_out(course, currency(request))

    return run_write(request, work)


@router.get("/courses", response={200: Page[CourseOut], **ERRORS}, summary="Courses")
def list_courses(request: HttpRequest, paging: Query[Paging]) -> Page[CourseOut]:
    user = actor(request)
    qs = Course.objects.filter(organization_id=user.tenant_id).order_by("name", "pk")
    items, count = page(qs, paging)
    code = currency(request)
    return Page[CourseOut](items=[course_out(c, code) for c in items], count=count)


@router.post("/classes", response={201: ClassOut, **ERRORS}, summary="Create a class")
def create_class_endpoint(request: HttpRequest, payload: ClassIn) -> HttpResponse:
    user = actor(request)

    def work() -> tuple[int, ClassOut]:
        org = user.tenant_id
        staff = User.objects.filter(organization_id=org, is_active=True)
        group = create_class(
            actor=user,
            course=visible(Course.objects.filter(organization_id=org), payload.course_id),
            campus=visible(Campus.objects.filter(organization_id=org), payload.campus_id),
            name=payload.name,
            instructor=visible(staff, payload.instructor_id),
            head_teacher=visible(staff, payload.head_teacher_id) if payload.head_teacher_id else None,
            capacity=payload.capacity,
            start_date=payload.start_date,
            end_date=payload.end_date,
            session_hours=payload.session_hours,
            schedule=[
                (
                    s.weekday,
                    datetime.time.fromisoformat(s.start_time),
                    datetime.time.fromisoformat(s.end_time),
                )
                for s in payload.schedule
            ],
        )
        return 201, class_out(group)

    return run_write(request, work)


@router.get("/classes", response={200: Page[ClassOut], **ERRORS}, summary="Classes")
def list_classes(request: HttpRequest, paging: Query[Paging]) -> Page[ClassOut]:
    user = actor(request)
    qs = (
        classes_visible_to(user)
        .prefetch_related("schedule")
        .annotate(enrolled=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.ACTIVE)))
        .order_by("name", "pk")
    )
    items, count = page(qs, paging)
    return Page[ClassOut](items=[class_out(g) for g in items], count=count)


SESSIONS_DESCRIPTION = """\
The class's sessions (课节), oldest first: each with the `id` that `POST /attendance` takes, its
`status` (a cancelled session is listed, with `status: "cancelled"`), `kind` (`extra` for a session
staff added), instructor, and whether attendance has been taken. An extra session may be held for
some of the class's students only (a make-up lesson): `student_ids` names them, and only they can be
marked on it; an empty list means the whole class.

Sessions are real records: staff generate them from the class's weekly schedule (skipping
statutory holidays and the school's closed dates) and move, cancel or add single ones. A class
whose sessions have not been generated yet lists none. `from` and `to` filter by date, inclusive.

The same sessions the staff pages show this token's user: another organization's or campus's
class is 404; an instructor sees the sessions of classes they teach and those they substitute in.
"""


def session_out(session: Session, tz: ZoneInfo, student_ids: list[int]) -> SessionOut:
    return SessionOut(
        id=session.pk,
        date=session.date,
        start=datetime.datetime.combine(session.date, session.start_time, tzinfo=tz),
        end=datetime.datetime.combine(session.date, session.end_time, tzinfo=tz),
        hours=hours(session.hours),
        status=session.status,  # type: ignore[arg-type]
        kind=session.kind,  # type: ignore[arg-type]
        instructor_id=session.instructor_id,
        original_date=session.original_date,
        note=session.note,
        attendance_taken=session.roll_called_at is not None,
        roll_called_at=session.roll_called_at,
        student_ids=student_ids,
    )


@router.get(
    "/classes/{class_id}/sessions",
    response={200: SessionList, **ERRORS},
    summary="A class's sessions, with the ids attendance is taken on",
    description=SESSIONS_DESCRIPTION,
)
def list_sessions(
    request: HttpRequest, class_id: PathId, period: Query[SessionRange], paging: Query[Paging]
) -> SessionList:
    user = actor(request)
    group = visible(classes_visible_to(user), class_id)
    qs = sessions_visible_to(user).filter(class_group=group)
    if period.from_:
        qs = qs.filter(date__gte=period.from_)
    if period.to:
        qs = qs.filter(date__lte=period.to)
    items, count = page(qs.order_by("date", "start_time", "pk"), paging)
    tz = ZoneInfo(user.organization.timezone)  # type: ignore[union-attr]
    # One statement for the page's extra sessions (regular ones never name students), none without.
    named = named_students(s.pk for s in items if s.kind == Session.Kind.EXTRA)
    return SessionList(
        class_id=group.pk, items=[session_out(s, tz, named.get(s.pk, [])) for s in items], count=count
    )
