"""Reads: hours positions (with their deferred and recognised tuition), rosters, renewal warnings."""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from feedesk.attendance.models import AbsenceReason, Attendance, Session
from feedesk.attendance.services.reasons import settings_for
from feedesk.catalog.selectors import classes_visible_to
from feedesk.core.permissions import Role
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import Account, AccountRole, EntryCode, Posting
from feedesk.people.models import Student
from feedesk.users.models import User

RECOGNISING = [EntryCode.CONSUMPTION, EntryCode.EXPIRY]


@dataclass(frozen=True)
class HoursPosition:
    enrolment_id: int
    purchased_hours: Decimal
    gift_hours: Decimal
    consumed_hours: Decimal
    paid_consumed_hours: Decimal
    gift_consumed_hours: Decimal
    remaining_hours: Decimal
    tuition_amount: int
    deferred_amount: int  # the enrolment's deferred-tuition account balance
    recognised_amount: int  # its CONSUMPTION and EXPIRY postings, net of their reversals
    valid_until: datetime.date | None
    expired_on: datetime.date | None

    @property
    def remaining_paid_hours(self) -> Decimal:
        return self.purchased_hours - self.paid_consumed_hours

    @property
    def remaining_gift_hours(self) -> Decimal:
        return self.gift_hours - self.gift_consumed_hours


def recognised_by_account(account_ids: Iterable[int]) -> dict[int, int]:
    """Tuition recognised per deferred account, read from the ledger itself."""
    rows = (
        Posting.objects.filter(account_id__in=list(account_ids))
        .filter(
            Q(entry__code__in=RECOGNISING)
            | Q(entry__code=EntryCode.REVERSAL, entry__reverses__code__in=RECOGNISING)
        )
        .values("account_id")
        .annotate(total=Sum("amount"))
    )
    return {row["account_id"]: row["total"] for row in rows}


def hours_positions(enrolments: Iterable[Enrolment]) -> dict[int, HoursPosition]:
    enrolments = list(enrolments)
    accounts = {
        a.enrolment_id: a
        for a in Account.objects.filter(
            enrolment_id__in=[e.pk for e in enrolments], role=AccountRole.DEFERRED_TUITION
        )
    }
    recognised = recognised_by_account(a.pk for a in accounts.values())
    positions = {}
    for e in enrolments:
        account = accounts.get(e.pk)
        positions[e.pk] = HoursPosition(
            enrolment_id=e.pk,
            purchased_hours=e.purchased_hours,
            gift_hours=e.gift_hours,
            consumed_hours=e.consumed_hours,
            paid_consumed_hours=e.paid_consumed_hours,
            gift_consumed_hours=e.gift_consumed_hours,
            remaining_hours=e.remaining_hours,
            tuition_amount=e.tuition_amount,
            deferred_amount=account.balance if account else 0,
            recognised_amount=recognised.get(account.pk, 0) if account else 0,
            valid_until=e.valid_until,
            expired_on=e.expired_on,
        )
    return positions


def hours_position(enrolment: Enrolment) -> HoursPosition:
    """What `GET /enrolments/{id}` reports for hours, deferred and recognised tuition."""
    return hours_positions([enrolment])[enrolment.pk]


@dataclass(frozen=True)
class HoursTotals:
    purchased_hours: Decimal
    gift_hours: Decimal
    consumed_hours: Decimal
    remaining_hours: Decimal
    deferred_amount: int
    recognised_amount: int


def totals(positions: Iterable[HoursPosition]) -> HoursTotals:
    items = list(positions)
    return HoursTotals(
        purchased_hours=sum((p.purchased_hours for p in items), Decimal(0)),
        gift_hours=sum((p.gift_hours for p in items), Decimal(0)),
        consumed_hours=sum((p.consumed_hours for p in items), Decimal(0)),
        remaining_hours=sum((p.remaining_hours for p in items), Decimal(0)),
        deferred_amount=sum(p.deferred_amount for p in items),
        recognised_amount=sum(p.recognised_amount for p in items),
    )


def enrolments_visible_to(user: User) -> QuerySet[Enrolment]:
    return Enrolment.objects.filter(class_group__in=classes_visible_to(user)).select_related(
        "student", "class_group", "class_group__course", "adviser"
    )


def sessions_visible_to(user: User) -> QuerySet[Session]:
    qs = Session.objects.filter(class_group__in=classes_visible_to(user)).select_related(
        "class_group", "instructor"
    )
    if user.role == Role.INSTRUCTOR:
        qs = qs.filter(Q(instructor=user) | Q(class_group__instructor=user))
    return qs


@dataclass(frozen=True)
class RosterLine:
    enrolment: Enrolment
    mark: Attendance | None
    position: HoursPosition


# The session ↔ student rows of extra sessions held for some students only (make-up lessons).
NamedStudent = Session.students.through


def session_is_for(student_id: int) -> Q:
    """Sessions a student is expected at: those naming no students (every regular session, and
    extra sessions for the whole class) and those naming this student. Combine it with the
    student's classes, e.g. `Session.objects.filter(session_is_for(s.pk), class_group_id__in=…)`.

    The same rule for a lean statement: `session_is_for_sql`.
    """
    named = NamedStudent.objects.filter(session_id=OuterRef("pk"))
    return ~Q(Exists(named)) | Q(Exists(named.filter(student_id=student_id)))


def session_is_for_sql(alias: str) -> str:
    """`session_is_for` as a SQL condition on sessions aliased `alias`; its one parameter is the
    student's id."""
    named = f"SELECT 1 FROM {NamedStudent._meta.db_table} n WHERE n.session_id = {alias}.id"
    return f"(NOT EXISTS ({named}) OR EXISTS ({named} AND n.student_id = %s))"


def named_students(session_ids: Iterable[int]) -> dict[int, list[int]]:
    """Whom each session is held for, by session id: student ids in id order; a session missing
    from the result (or with an empty list) is for the whole class. One statement."""
    ids = list(session_ids)
    found: dict[int, list[int]] = {}
    if not ids:
        return found
    rows = NamedStudent.objects.filter(session_id__in=ids).order_by("session_id", "student_id")
    for session_id, student_id in rows.values_list("session_id", "student_id"):
        found.setdefault(session_id, []).append(student_id)
    return found


def with_named_students(sessions: QuerySet[Session]) -> QuerySet[Session]:
    """The sessions with the names of the students each is for (`session.students.all()`, by
    pinyin), read in one statement for them all."""
    return sessions.prefetch_related(
        Prefetch("students", queryset=Student.objects.only("pk", "name").order_by("name_pinyin", "pk"))
    )


def session_roster(session: Session) -> list[RosterLine]:
    """The class's active students (only those named, when the session names some) with their
    current mark for the session and their hours."""
    qs = Enrolment.objects.filter(class_group_id=session.class_group_id, status=Enrolment.Status.ACTIVE)
    if session.kind == Session.Kind.EXTRA:
        named = NamedStudent.objects.filter(session_id=session.pk)
        qs = qs.filter(Q(~Exists(named)) | Q(student_id__in=named.values("student_id")))
    enrolments = list(qs.select_related("student").order_by("student__name_pinyin", "pk"))
    marks = {
        a.student_id: a
        for a in Attendance.objects.filter(session=session, is_current=True).select_related("reason")
    }
    positions = hours_positions(enrolments)
    return [RosterLine(e, marks.get(e.student_id), positions[e.pk]) for e in enrolments]


def mark_history(session: Session) -> QuerySet[Attendance]:
    """Every mark ever written for the session, corrections included, oldest first."""
    return (
        Attendance.objects.filter(session=session)
        .select_related("student", "reason", "set_by")
        .order_by("student_id", "created_at", "pk")
    )


def absence_reasons(
    *, organization_id: int, for_students: bool = False, include_inactive: bool = False
) -> QuerySet[AbsenceReason]:
    """The school's code table (`GET /absence-reasons`); students see only theirs."""
    qs = AbsenceReason.objects.filter(organization_id=organization_id)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if for_students:
        qs = qs.filter(usable_by_students=True)
    return qs.order_by("code")


@dataclass(frozen=True)
class RenewalWarning:
    enrolment: Enrolment
    remaining_hours: Decimal
    valid_until: datetime.date | None
    low_hours: bool
    expiring: bool


def renewal_warnings(
    *, user: User, today: datetime.date | None = None
) -> list[tuple[User | None, list[RenewalWarning]]]:
    """续费预警: active enrolments at or below the school's hours threshold or close to expiry,
    grouped by course adviser (advisers see only their own)."""
    today = today or timezone.localdate()
    settings = settings_for(user.tenant_id)
    soon = today + datetime.timedelta(days=settings.renewal_days_before_expiry)
    qs = enrolments_visible_to(user).filter(status=Enrolment.Status.ACTIVE, expired_on__isnull=True)
    if user.role == Role.ADVISER:
        qs = qs.filter(adviser=user)
    qs = qs.annotate(left=F("purchased_hours") + F("gift_hours") - F("consumed_hours")).filter(
        Q(left__lte=settings.renewal_threshold_hours) | Q(valid_until__range=(today, soon))
    )
    groups: dict[int | None, list[RenewalWarning]] = defaultdict(list)
    advisers: dict[int | None, User | None] = {}
    for e in qs.order_by("adviser_id", "left", "pk"):
        advisers[e.adviser_id] = e.adviser
        groups[e.adviser_id].append(
            RenewalWarning(
                enrolment=e,
                remaining_hours=e.remaining_hours,
                valid_until=e.valid_until,
                low_hours=e.remaining_hours <= settings.renewal_threshold_hours,
                expiring=e.valid_until is not None and today <= e.valid_until <= soon,
            )
        )
    return [(advisers[k], v) for k, v in groups.items()]


def student_hours(student_id: int) -> tuple[list[tuple[Enrolment, HoursPosition]], HoursTotals]:
    """The hours block of the student page: each enrolment's position and their totals."""
    enrolments = list(
        Enrolment.objects.filter(student_id=student_id)
        .exclude(status=Enrolment.Status.CANCELLED)
        .select_related("class_group", "class_group__course")
        .order_by("-created_at")
    )
    positions = hours_positions(enrolments)
    return [(e, positions[e.pk]) for e in enrolments], totals(positions.values())
