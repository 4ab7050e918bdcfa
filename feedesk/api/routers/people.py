from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from feedesk.api.idempotency import run_write
from feedesk.api.routers.common import ERRORS, actor, currency, found, page, visible
from feedesk.api.schemas import (
    AccountEnrolmentOut,
    ApplyCreditIn,
    CreditAllocationOut,
    GuardianIn,
    GuardianOut,
    GuardianPatch,
    GuardianStudentOut,
    Page,
    Paging,
    PathId,
    StatementLineOut,
    StatementOut,
    StatementRange,
    StudentAccountOut,
    StudentGuardianOut,
    StudentIn,
    StudentOut,
    StudentPatch,
    StudentQuery,
)
from feedesk.billing.selectors import orders_visible_to
from feedesk.core.permissions import Capability, require
from feedesk.ledger.selectors import student_statement
from feedesk.organizations.models import Campus
from feedesk.payments.selectors import account_summary
from feedesk.payments.services import apply_credit
from feedesk.people.models import Guardian, Student, StudentGuardian
from feedesk.people.selectors import search_students, students_visible_to
from feedesk.people.services import (
    UNSET,
    create_guardian,
    create_student,
    link_guardian,
    update_guardian,
    update_student,
)
from feedesk.users.models import User

router = Router(tags=["students and guardians"])


def _links() -> Prefetch:
    return Prefetch(
        "studentguardian_set",
        queryset=StudentGuardian.objects.select_related("guardian").order_by("-is_primary", "pk"),
    )


def student_out(student: Student) -> StudentOut:
    links = StudentGuardian.objects.filter(student=student).select_related("guardian")
    if (
        hasattr(student, "_prefetched_objects_cache")
        and "studentguardian_set" in student._prefetched_objects_cache
    ):
        links = student.studentguardian_set.all()
    return StudentOut(
        id=student.pk,
        number=student.number,
        name=student.name,
        name_pinyin=student.name_pinyin,
        phone=student.phone,
        campus_id=student.campus_id,
        birth_date=student.birth_date,
        school=student.school,
        notes=student.notes,
        adviser_id=student.adviser_id,
        is_active=student.is_active,
        guardians=[
            StudentGuardianOut(
                id=link.guardian_id,
                name=link.guardian.name,
                phone=link.guardian.phone,
                relation=link.relation,
                is_primary=link.is_primary,
            )
            for link in sorted(links, key=lambda link: (not link.is_primary, link.pk))
        ],
        created_at=student.created_at,
    )


def guardian_out(guardian: Guardian, user: User) -> GuardianOut:
    visible_ids = students_visible_to(user).values("pk")
    links = (
        StudentGuardian.objects.filter(guardian=guardian, student__in=visible_ids)
        .select_related("student")
        .order_by("pk")
    )
    return GuardianOut(
        id=guardian.pk,
        name=guardian.name,
        phone=guardian.phone,
        email=guardian.email,
        students=[
            GuardianStudentOut(
                id=link.student_id,
                number=link.student.number,
                name=link.student.name,
                relation=link.relation,
                is_primary=link.is_primary,
            )
            for link in links
        ],
        created_at=guardian.created_at,
    )


def _guardians(user: User, links: list) -> list[tuple[Guardian, str]]:
    guardians = Guardian.objects.filter(organization_id=user.tenant_id)
    return [(visible(guardians, link.guardian_id), link.relation) for link in links]


def _campus(user: User, campus_id: int) -> Campus:
    return visible(Campus.objects.filter(organization_id=user.tenant_id), campus_id)


def _adviser(user: User, adviser_id: int | None) -> User | None:
    if adviser_id is None:
        return None
    return visible(User.objects.filter(organization_id=user.tenant_id, is_active=True), adviser_id)


@router.post("/students", response={201: StudentOut, **ERRORS}, summary="Register a student")
def create_student_endpoint(request: HttpRequest, payload: StudentIn) -> HttpResponse:
    user = actor(request)

    def work() -> tuple[int, StudentOut]:
        student = create_student(
            actor=user,
            campus=_campus(user, payload.campus_id),
            name=payload.name,
            phone=payload.phone,
            birth_date=payload.birth_date,
            school=payload.school,
            guardians=_guardians(user, payload.guardians),
            adviser=_adviser(user, payload.adviser_id),
        )
        return 201, student_out(student)

    return run_write(request, work)


@router.get("/students", response={200: Page[StudentOut], **ERRORS}, summary="Find students")
def list_students(
    request: HttpRequest, query: Query[StudentQuery], paging: Query[Paging]
) -> Page[StudentOut]:
    user = actor(request)
    require(user, Capability.VIEW_STUDENTS)
    qs = search_students(user=user, query=query.search, limit=None).prefetch_related(_links())
    items, count = page(qs, paging)
    return Page[StudentOut](items=[student_out(s) for s in items], count=count)


@router.get("/students/{student_id}", response={200: StudentOut, **ERRORS}, summary="A student")
def get_student(request: HttpRequest, student_id: PathId) -> StudentOut:
    user = actor(request)
    require(user, Capability.VIEW_STUDENTS)
    return student_out(visible(students_visible_to(user), student_id))


@router.patch("/students/{student_id}", response={200: StudentOut, **ERRORS}, summary="Change a student")
def patch_student(request: HttpRequest, student_id: PathId, payload: StudentPatch) -> StudentOut:
    user = actor(request)
    student = visible(students_visible_to(user), student_id)
    given = payload.model_fields_set
    student = update_student(
        actor=user,
        student=student,
        name=payload.name,
        phone=payload.phone,
        campus=_campus(user, payload.campus_id) if payload.campus_id is not None else None,
        birth_date=payload.birth_date if "birth_date" in given else UNSET,
        school=payload.school,
        notes=payload.notes,
        adviser=_adviser(user, payload.adviser_id) if "adviser_id" in given else UNSET,
        is_active=payload.is_active,
        guardians=_guardians(user, payload.guardians) if payload.guardians is not None else None,
    )
    return student_out(student)


@router.get("/students/{student_id}/account", response={200: StudentAccountOut, **ERRORS}, summary="Balances")
def get_account(request: HttpRequest, student_id: PathId) -> StudentAccountOut:
    user = actor(request)
    require(user, Capability.VIEW_STUDENTS)
    summary = found(account_summary(user=user, student_id=student_id), student_id)
    account, enrolments = summary.balances, summary.enrolments
    return StudentAccountOut(
        student_id=summary.student_id,
        balance_due=account.balance_due,
        overdue=account.overdue,
        credit=account.credit,
        currency=account.currency,
        enrolments=[
            AccountEnrolmentOut(
                id=e.pk, class_id=e.class_group_id, status=e.status, remaining_hours=e.remaining_hours
            )
            for e in enrolments
        ],
    )


@router.get("/students/{student_id}/statement", response={200: StatementOut, **ERRORS}, summary="Statement")
def get_statement(request: HttpRequest, student_id: PathId, period: Query[StatementRange]) -> StatementOut:
    user = actor(request)
    require(user, Capability.VIEW_STUDENTS)
    student = visible(students_visible_to(user), student_id)
    opening, lines = student_statement(student_id=student.pk, date_from=period.from_, date_to=period.to)
    return StatementOut(
        student_id=student.pk,
        currency=currency(request),
        opening_balance=opening,
        closing_balance=lines[-1].running_balance if lines else opening,
        lines=[
            StatementLineOut(
                entry_id=line.entry_id,
                seq=line.seq,
                code=line.code,
                effective_date=line.effective_date,
                memo=line.memo,
                charge=line.charge,
                payment=line.payment,
                moved=line.moved,
                running_balance=line.running_balance,
            )
            for line in lines
        ],
    )


@router.post(
    "/students/{student_id}/apply-credit",
    response={201: CreditAllocationOut, **ERRORS},
    summary="Pay an order from the student's credit",
)
def apply_credit_endpoint(request: HttpRequest, student_id: PathId, payload: ApplyCreditIn) -> HttpResponse:
    user = actor(request)

    def work() -> tuple[int, CreditAllocationOut]:
        student = visible(students_visible_to(user), student_id)
        order = visible(orders_visible_to(user).filter(student=student), payload.order_id)
        allocation = apply_credit(actor=user, student=student, order=order, amount=payload.amount)
        return 201, CreditAllocationOut(
            id=allocation.pk,
            student_id=student.pk,
            order_id=order.pk,
            order_number=order.number,
            amount=allocation.amount,
            currency=currency(request),
            created_at=allocation.created_at,
        )

    return run_write(request, work)


@router.post("/guardians", response={201: GuardianOut, **ERRORS}, summary="Register a guardian")
def create_guardian_endpoint(request: HttpRequest, payload: GuardianIn) -> HttpResponse:
    user = actor(request)

    def work() -> tuple[int, GuardianOut]:
        guardian = create_guardian(actor=user, name=payload.name, phone=payload.phone, email=payload.email)
        students = students_visible_to(user)
        for link in payload.students:
            link_guardian(
                actor=user,
                guardian=guardian,
                student=visible(students, link.student_id),
                relation=link.relation,
            )
        return 201, guardian_out(guardian, user)

    return run_write(request, work)


@router.get("/guardians/{guardian_id}", response={200: GuardianOut, **ERRORS}, summary="A guardian")
def get_guardian(request: HttpRequest, guardian_id: PathId) -> GuardianOut:
    user = actor(request)
    require(user, Capability.VIEW_STUDENTS)
    guardian = visible(Guardian.objects.filter(organization_id=user.tenant_id), guardian_id)
    return guardian_out(guardian, user)


@router.patch("/guardians/{guardian_id}", response={200: GuardianOut, **ERRORS}, summary="Change a guardian")
def patch_guardian(request: HttpRequest, guardian_id: PathId, payload: GuardianPatch) -> GuardianOut:
    user = actor(request)
    guardian = visible(Guardian.objects.filter(organization_id=user.tenant_id), guardian_id)
    guardian = update_guardian(
        actor=user, guardian=guardian, name=payload.name, phone=payload.phone, email=payload.email
    )
    return guardian_out(guardian, user)
