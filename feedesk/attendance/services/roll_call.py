"""Roll call (点名): marks for a session's students, the hours they use and the revenue they earn.

Hours rule: present uses the session's hours; absent or leave uses them when the reason's rule
deducts (no reason: absent deducts, leave does not). Paid hours are used before gift hours
unless the school's settings say gift first. A roll call posts ONE consumption entry for all its
students; a correction posts a reversal of what the old marks recognised, then the new entry.
"""

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from feedesk.attendance.models import AbsenceReason, Attendance, AttendanceSettings, MakeupCredit, Session
from feedesk.attendance.services.reasons import settings_for
from feedesk.attendance.services.recognition import (
    hour_price,
    recognised_for,
    revenue_account_id,
)
from feedesk.audit.services import record_audit
from feedesk.billing.models import Order, OrderLine
from feedesk.billing.services import LineDraft, create_order
from feedesk.catalog.models import ClassGroup, Course, PriceModel
from feedesk.core import sql
from feedesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from feedesk.core.permissions import Capability, Role, ensure_same_organization, require
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import Account, AccountRole, EntryCode, JournalEntry
from feedesk.ledger.services import EntryDraft, Leg, post_entries
from feedesk.organizations.models import Counter, Organization
from feedesk.people.models import Guardian, Student, StudentGuardian
from feedesk.users.models import User

ZERO = Decimal(0)
_STATUSES = frozenset(Attendance.Status.values)
# A mark with this status takes back the student's current mark (a withdrawn self-reported absence).
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Mark:
    student_id: int
    status: str
    reason_code: str | None = None
    use_makeup_credit: bool = False


@dataclass
class RollCallResult:
    session: Session
    marks: list[Attendance] = field(default_factory=list)
    unchanged: int = 0
    entries: list[JournalEntry] = field(default_factory=list)
    arrears_orders: list[Order] = field(default_factory=list)
    recognised: int = 0  # net tuition recognised by this call (negative when a correction gives back)


@dataclass
class _Pool:
    """An enrolment's hours and recognition while a roll call is worked out."""

    enrolment: Enrolment
    purchased: Decimal
    tuition: int
    paid_used: Decimal
    gift_used: Decimal
    recognised: int
    reversed_amount: dict[int | None, int] = field(default_factory=lambda: defaultdict(int))
    consumed_amount: int = 0

    def restate(self) -> int:
        """Bring `recognised` to what the paid hours used now earn; return the change."""
        target = recognised_for(tuition=self.tuition, purchased=self.purchased, paid_consumed=self.paid_used)
        change = target - self.recognised
        self.recognised = target
        return change


@dataclass
class _Arrears:
    pool: _Pool
    hours: Decimal
    unit_price: int

    @property
    def line(self) -> LineDraft:
        return LineDraft(
            kind=OrderLine.Kind.TUITION,
            description=_("%(class)s · %(hours)s hours beyond the package (arrears)")
            % {"class": self.pool.enrolment.class_group.name, "hours": self.hours},
            unit_price=self.unit_price,
            quantity=self.hours,
        )


def _fmt(hours: Decimal) -> str:
    """1.50 → 1.5, 2.00 → 2: how people write hours."""
    text = f"{hours:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _session_start(session: Session) -> datetime.datetime:
    tz = zoneinfo.ZoneInfo(session.organization.timezone)
    return datetime.datetime.combine(session.date, session.start_time, tzinfo=tz)


_LOCKED = (
    (Session, "s"),
    (ClassGroup, "g"),
    (Course, "c"),
    (Organization, "o"),
    (AttendanceSettings, "st"),
)


@lru_cache(maxsize=4)
def _lock_session_sql(vendor: str) -> str:
    table = {model: model._meta.db_table for model, _alias in _LOCKED}
    selected = sql.joined_columns(_LOCKED)
    # The session, its class, course and school are locked, as select_related + FOR UPDATE did;
    # the settings row and the revenue account (locked later, in posting) are only read. The last
    # column says whether the session names the students it is for.
    lock = sql.lock_clause()
    return (
        f"SELECT {selected}, (SELECT a.id FROM {Account._meta.db_table} a WHERE a.organization_id = "
        "s.organization_id AND a.role = %s AND a.subject_id = c.subject_id), "
        f"EXISTS (SELECT 1 FROM {Session.students.through._meta.db_table} n WHERE n.session_id = s.id) "
        f"FROM {table[Session]} s JOIN {table[ClassGroup]} g ON g.id = s.class_group_id "
        f"JOIN {table[Course]} c ON c.id = g.course_id "
        f"JOIN {table[Organization]} o ON o.id = s.organization_id "
        f"LEFT JOIN {table[AttendanceSettings]} st ON st.organization_id = s.organization_id "
        "WHERE s.id = %s" + (f"{lock} OF s, g, c, o" if lock else "")
    )


@dataclass
class _Locked:
    session: Session
    settings: AttendanceSettings
    revenue_account_id: int | None
    names_students: bool


def _lock_session(session: Session) -> _Locked:
    """The session locked, with its class, course, school, attendance settings and the id of the
    revenue account its subject posts to: one statement where the ORM needed several."""
    rows = sql.fetch(_lock_session_sql(connection.vendor), [AccountRole.TUITION_REVENUE, session.pk])
    if not rows:
        raise Session.DoesNotExist("Session matching query does not exist.")
    locked, group, course, organization, found_settings = sql.split_joined(
        rows[0], [model for model, _alias in _LOCKED]
    )
    sql.cache_related(group, "course", course)
    sql.cache_related(locked, "class_group", group)
    sql.cache_related(locked, "organization", organization)
    settings = found_settings if found_settings is not None else settings_for(locked.organization_id)
    # The revenue account's id and the named-students flag are the columns after the parts.
    return _Locked(locked, settings, rows[0][-2], bool(rows[0][-1]))


def _check_scope(actor: User, session: Session) -> None:
    group = session.class_group
    require(actor, Capability.TAKE_ATTENDANCE, campus_id=group.campus_id)
    if actor.role == Role.INSTRUCTOR and actor.pk not in (group.instructor_id, session.instructor_id):
        raise PermissionDenied(
            _("Instructors can take attendance only for their own classes."), code="not_your_class"
        )


def take_roll_call(
    *,
    actor: User,
    session: Session,
    marks: Sequence[Mark],
    allow_overdraw: bool = False,
    now: datetime.datetime | None = None,
) -> RollCallResult:
    """Record (or correct) the marks of a session's students, all in one ledger entry."""
    with transaction.atomic():
        require(actor, Capability.TAKE_ATTENDANCE)
        ensure_same_organization(actor, session)
        locked = _lock_session(session)
        session, settings = locked.session, locked.settings
        _check_scope(actor, session)
        if allow_overdraw:
            require(actor, Capability.OVERDRAW_HOURS, campus_id=session.class_group.campus_id)
        now = now or timezone.now()
        opens = _session_start(session) - datetime.timedelta(minutes=settings.roll_call_early_minutes)
        if now < opens:
            raise Conflict(
                _("This session starts %(start)s; attendance can be taken from %(opens)s.")
                % {
                    "start": timezone.localtime(_session_start(session)).strftime("%Y-%m-%d %H:%M"),
                    "opens": timezone.localtime(opens).strftime("%Y-%m-%d %H:%M"),
                },
                code="session_not_started",
            )
        return _apply(
            actor=actor,
            session=session,
            marks=marks,
            set_by_role=Attendance.SetBy.STAFF,
            allow_overdraw=allow_overdraw,
            settings=settings,
            revenue_account=locked.revenue_account_id,
            names_students=locked.names_students,
        )


@dataclass
class MarkOutcome:
    """One student's current mark, and the order billing hours used beyond their package."""

    mark: Attendance
    arrears_order: Order | None = None


def record_attendance(
    *,
    actor: User,
    session: Session,
    student: Student,
    status: str,
    reason_code: str | None = None,
    use_makeup_credit: bool = False,
    allow_overdraw: bool = False,
) -> MarkOutcome:
    """One student's mark (what `POST /attendance` calls): the student's current mark, and the
    arrears order it issued, if any."""
    ensure_same_organization(actor, student)
    result = take_roll_call(
        actor=actor,
        session=session,
        marks=[Mark(student.pk, status, reason_code or None, use_makeup_credit)],
        allow_overdraw=allow_overdraw,
    )
    arrears = result.arrears_orders[0] if result.arrears_orders else None
    if result.marks:
        return MarkOutcome(result.marks[0], arrears)
    return MarkOutcome(
        Attendance.objects.get(session_id=session.pk, student_id=student.pk, is_current=True), arrears
    )


def _check_reporter(reporter: Guardian | Student, student: Student, session: Session) -> None:
    """A guardian reports for their own children, a student for themselves; anything else is not found."""
    if (
        reporter.organization_id != student.organization_id
        or session.organization_id != student.organization_id
    ):
        raise NotFound(_("Not found."))
    if isinstance(reporter, Guardian):
        if not StudentGuardian.objects.filter(guardian=reporter, student=student).exists():
            raise NotFound(_("Not found."))
    elif reporter.pk != student.pk:
        raise NotFound(_("Not found."))


def _check_cutoff(session: Session, settings: AttendanceSettings, now: datetime.datetime | None) -> None:
    cutoff = _session_start(session) - datetime.timedelta(minutes=settings.student_cutoff_minutes)
    if (now or timezone.now()) > cutoff:
        raise Conflict(
            _("Absences for this session had to be reported by %(cutoff)s; please contact the school.")
            % {"cutoff": timezone.localtime(cutoff).strftime("%Y-%m-%d %H:%M")},
            code="absence_cutoff_passed",
        )


def report_absence(
    *,
    reporter: Guardian | Student,
    session: Session,
    student: Student,
    reason_code: str,
    now: datetime.datetime | None = None,
) -> Attendance:
    """A student or guardian reports leave for a coming session (the portal's entry point).

    Only reasons usable by students, only before the school's cut-off (default 2 hours before
    the start), and never over a mark staff have set.
    """
    with transaction.atomic():
        _check_reporter(reporter, student, session)
        if isinstance(reporter, Guardian):
            role, actor = Attendance.SetBy.GUARDIAN, reporter.user
        else:
            role, actor = Attendance.SetBy.STUDENT, None
        locked = _lock_session(session)
        session, settings = locked.session, locked.settings
        _check_cutoff(session, settings, now)
        result = _apply(
            actor=actor,
            session=session,
            marks=[Mark(student.pk, Attendance.Status.LEAVE, reason_code)],
            set_by_role=role,
            allow_overdraw=False,
            settings=settings,
            revenue_account=locked.revenue_account_id,
            names_students=locked.names_students,
        )
        if result.marks:
            return result.marks[0]
        return Attendance.objects.get(session_id=session.pk, student_id=student.pk, is_current=True)


def withdraw_absence(
    *,
    reporter: Guardian | Student,
    session: Session,
    student: Student,
    now: datetime.datetime | None = None,
) -> None:
    """Take back leave the student or guardian reported, before the cut-off; school marks stay."""
    with transaction.atomic():
        _check_reporter(reporter, student, session)
        role = Attendance.SetBy.GUARDIAN if isinstance(reporter, Guardian) else Attendance.SetBy.STUDENT
        locked = _lock_session(session)
        session, settings = locked.session, locked.settings
        _check_cutoff(session, settings, now)
        current = Attendance.objects.filter(
            session_id=session.pk, student_id=student.pk, is_current=True
        ).first()
        if current is None:
            return
        _apply(
            actor=reporter.user if isinstance(reporter, Guardian) else None,
            session=session,
            marks=[Mark(student.pk, WITHDRAWN)],
            set_by_role=role,
            allow_overdraw=False,
            settings=settings,
            revenue_account=locked.revenue_account_id,
            names_students=locked.names_students,
        )


@lru_cache(maxsize=16)
def _reasons_sql(count: int) -> str:
    return (
        f"SELECT {sql.columns(AbsenceReason, sql.concrete_names(AbsenceReason), 'r')} "
        f"FROM {AbsenceReason._meta.db_table} r "
        f"WHERE r.organization_id = %s AND r.is_active = %s AND r.code IN ({sql.placeholders(count)})"
    )


def _reasons(organization_id: int, marks: Sequence[Mark], set_by_role: str) -> dict[str, AbsenceReason]:
    codes = {m.reason_code for m in marks if m.reason_code}
    if not codes:
        return {}
    names = sql.concrete_names(AbsenceReason)
    rows = sql.fetch(_reasons_sql(len(codes)), [organization_id, True, *codes])
    found = {r.code: r for r in (sql.read(AbsenceReason, names, row) for row in rows)}
    for code in codes - set(found):
        raise ValidationFailed(
            _("“%(code)s” is not one of the school's absence reasons.") % {"code": code},
            code="reason_unknown",
        )
    if set_by_role != Attendance.SetBy.STAFF:
        for reason in found.values():
            if not reason.usable_by_students:
                raise PermissionDenied(
                    _("“%(reason)s” can only be recorded by the school.") % {"reason": reason.display_name},
                    code="reason_not_allowed",
                )
    return found


def _validate_marks(marks: Sequence[Mark]) -> None:
    seen: set[int] = set()
    for mark in marks:
        if mark.status not in _STATUSES and mark.status != WITHDRAWN:
            raise ValidationFailed(
                _("Attendance is present, absent or leave."), code="attendance_status_invalid"
            )
        if mark.status == Attendance.Status.PRESENT and mark.reason_code:
            raise ValidationFailed(
                _("An absence reason goes with absent or leave, not present."), code="reason_not_for_present"
            )
        if mark.use_makeup_credit and mark.status != Attendance.Status.PRESENT:
            raise ValidationFailed(_("A make-up credit is used by attending."), code="makeup_needs_presence")
        if mark.student_id in seen:
            raise ValidationFailed(_("A student is marked twice."), code="student_marked_twice")
        seen.add(mark.student_id)


def _check_named(session: Session, marks: Sequence[Mark]) -> None:
    """A session held for some students only takes marks (and absences) for those students."""
    named = set(
        Session.students.through.objects.filter(session_id=session.pk).values_list("student_id", flat=True)
    )
    outside = [m.student_id for m in marks if m.student_id not in named and m.status != WITHDRAWN]
    if outside:
        raise ValidationFailed(
            _("This session is held for some students only, and %(students)s is not one of them.")
            % {"students": _names(session, outside)},
            code="not_for_this_session",
        )


def _names(session: Session, student_ids: list[int]) -> str:
    """The students' names for a refusal; a student of another school does not exist here."""
    names = dict(
        Student.objects.filter(pk__in=student_ids, organization_id=session.organization_id).values_list(
            "pk", "name"
        )
    )
    if len(names) < len(set(student_ids)):
        raise NotFound(_("Not found."))
    return "、".join(names[pk] for pk in student_ids)


@lru_cache(maxsize=64)
def _enrolments_sql(vendor: str, count: int) -> str:
    return (
        f"SELECT {sql.columns(Enrolment, sql.concrete_names(Enrolment), 'e')}, "
        f"(SELECT a.id FROM {Account._meta.db_table} a WHERE a.enrolment_id = e.id AND a.role = %s) "
        f"FROM {Enrolment._meta.db_table} e WHERE e.class_group_id = %s AND e.status = %s "
        f"AND e.student_id IN ({sql.placeholders(count)}) ORDER BY e.id" + sql.lock_clause()
    )


def _enrolments(session: Session, student_ids: list[int]) -> tuple[dict[int, Enrolment], dict[int, int]]:
    """The students' active enrolments in the session's class, locked in pk order, and their
    deferred-tuition account ids (by enrolment id)."""
    fields = sql.concrete_names(Enrolment)
    rows = sql.fetch(
        _enrolments_sql(connection.vendor, len(student_ids)),
        [AccountRole.DEFERRED_TUITION, session.class_group_id, Enrolment.Status.ACTIVE, *student_ids],
    )
    found: dict[int, Enrolment] = {}
    deferred: dict[int, int] = {}
    # Every row is of the session's class (the WHERE says so): cache it on each, as assigning would.
    read = sql.read_rows(
        Enrolment, fields, [row[:-1] for row in rows], related={"class_group": session.class_group}
    )
    for enrolment, row in zip(read, rows, strict=True):
        found[enrolment.student_id] = enrolment
        if row[-1] is not None:
            deferred[enrolment.pk] = row[-1]
    missing = [pk for pk in student_ids if pk not in found]
    if missing:
        raise ValidationFailed(
            _("%(students)s is not enrolled in %(class)s.")
            % {"students": _names(session, missing), "class": session.class_group.name},
            code="not_enrolled",
        )
    for enrolment in found.values():
        if enrolment.expired_on is not None or (
            enrolment.valid_until is not None and session.date > enrolment.valid_until
        ):
            raise Conflict(
                _("The hours of enrolment E%(id)s were valid until %(date)s.")
                % {"id": enrolment.pk, "date": enrolment.valid_until},
                code="enrolment_expired",
            )
    return found, deferred


@lru_cache(maxsize=1)
def _current_marks_sql() -> str:
    return (
        f"SELECT {sql.columns(Attendance, sql.concrete_names(Attendance), 'm')} "
        f"FROM {Attendance._meta.db_table} m WHERE m.session_id = %s AND m.is_current = %s"
    )


def _hours_for(mark: Mark, session: Session, reason: AbsenceReason | None) -> Decimal:
    if mark.status == Attendance.Status.PRESENT:
        return ZERO if mark.use_makeup_credit else session.hours
    if reason is not None:
        return session.hours if reason.deducts else ZERO
    return session.hours if mark.status == Attendance.Status.ABSENT else ZERO


def _draw(pool: _Pool, hours: Decimal, gift_first: bool) -> tuple[Decimal, Decimal, Decimal]:
    """(paid, gift, shortfall) hours for a mark that uses `hours`."""
    enrolment = pool.enrolment
    paid_left = pool.purchased - pool.paid_used
    gift_left = enrolment.gift_hours - pool.gift_used
    if gift_first:
        gift = min(hours, gift_left)
        paid = min(hours - gift, paid_left)
    else:
        paid = min(hours, paid_left)
        gift = min(hours - paid, gift_left)
    return paid, gift, hours - paid - gift


def _apply(
    *,
    actor: User | None,
    session: Session,
    marks: Sequence[Mark],
    set_by_role: str,
    allow_overdraw: bool,
    settings: AttendanceSettings,
    revenue_account: int | None,
    names_students: bool,
) -> RollCallResult:
    result = RollCallResult(session=session)
    if session.status == Session.Status.CANCELLED:
        raise Conflict(_("This session is cancelled."), code="session_cancelled")
    _validate_marks(marks)
    if not marks:
        return result
    if names_students:
        _check_named(session, marks)
    reasons = _reasons(session.organization_id, marks, set_by_role)
    enrolments, deferred = _enrolments(session, [m.student_id for m in marks])
    mark_names = sql.concrete_names(Attendance)
    current = {
        a.student_id: a
        for a in (
            sql.read(Attendance, mark_names, row)
            for row in sql.fetch(_current_marks_sql(), [session.pk, True])
        )
    }
    pools: dict[int, _Pool] = {}
    retire: list[Attendance] = []
    new_marks: list[tuple[Mark, _Pool, Decimal, Decimal, AbsenceReason | None, Attendance | None]] = []
    arrears: list[_Arrears] = []
    credits_to_use: dict[int, MakeupCredit] = {}
    credits_to_release: list[int] = []
    grants_to_revoke: list[int] = []
    for mark in marks:
        reason = reasons.get(mark.reason_code) if mark.reason_code else None
        old = current.get(mark.student_id)
        if old is not None:
            if set_by_role != Attendance.SetBy.STAFF and old.set_by_role == Attendance.SetBy.STAFF:
                raise Conflict(
                    _("The school has already recorded this session; please contact the school."),
                    code="mark_set_by_staff",
                )
            if (
                old.status == mark.status
                and old.reason_id == (reason.pk if reason else None)
                and old.makeup_credit_used == mark.use_makeup_credit
            ):
                result.unchanged += 1
                continue
        enrolment = enrolments[mark.student_id]
        pool = pools.get(enrolment.pk)
        if pool is None:
            pool = pools[enrolment.pk] = _Pool(
                enrolment=enrolment,
                purchased=enrolment.purchased_hours,
                tuition=enrolment.tuition_amount,
                paid_used=enrolment.paid_consumed_hours,
                gift_used=enrolment.gift_consumed_hours,
                recognised=enrolment.recognised_amount,
            )
        if old is not None:
            pool.paid_used -= old.paid_hours
            pool.gift_used -= old.gift_hours
            given_back = -pool.restate()
            if old.entry_id is None:
                # The old mark recognised nothing itself (gift hours, or a fen lost to rounding), so
                # there is no entry to reverse: the adjustment travels in the new consumption entry.
                pool.consumed_amount -= given_back
            else:
                pool.reversed_amount[old.entry_id] += given_back
            retire.append(old)
            if old.makeup_credit_used:
                credits_to_release.append(old.pk)
            if hasattr(old, "makeup_granted"):
                if old.makeup_granted.used_by_id is not None:
                    raise Conflict(
                        _(
                            "The make-up credit this absence granted has been used; "
                            "correct that session first."
                        ),
                        code="makeup_credit_used",
                    )
                grants_to_revoke.append(old.makeup_granted.pk)
        if mark.status == WITHDRAWN:
            continue
        if mark.use_makeup_credit:
            credit = (
                MakeupCredit.objects.select_for_update()
                .filter(
                    enrolment=enrolment, used_by__isnull=True, revoked=False, expires_on__gte=session.date
                )
                .exclude(pk__in=[c.pk for c in credits_to_use.values()])
                .order_by("expires_on", "pk")
                .first()
            )
            if credit is None:
                raise Conflict(
                    _("%(student)s has no make-up credit valid on %(date)s.")
                    % {"student": enrolment.student.name, "date": session.date},
                    code="no_makeup_credit",
                )
            credits_to_use[mark.student_id] = credit
        hours = _hours_for(mark, session, reason)
        paid, gift, short = _draw(pool, hours, settings.gift_hours_first)
        if short > 0:
            if not allow_overdraw:
                raise Conflict(
                    _(
                        "%(student)s has %(left)s hours left and this session uses %(hours)s. "
                        "Renew the package, or let the desk record the session as arrears."
                    )
                    % {
                        "student": enrolment.student.name,
                        "left": _fmt(pool.purchased - pool.paid_used + enrolment.gift_hours - pool.gift_used),
                        "hours": _fmt(hours),
                    },
                    code="hours_exhausted",
                )
            course = session.class_group.course
            unit = (
                course.lesson_price
                if course.price_model == PriceModel.PER_LESSON
                else hour_price(tuition=pool.tuition, purchased=pool.purchased)
            )
            if unit <= 0:
                raise Conflict(
                    _("This course has no hourly price, so hours beyond the package cannot be billed."),
                    code="no_hour_price",
                )
            owed = _Arrears(pool=pool, hours=short, unit_price=unit)
            if owed.line.gross > 0:
                arrears.append(owed)
            # else: the hours beyond the package come to less than a fen; there is nothing to bill.
            pool.purchased += short
            pool.tuition += owed.line.gross
            paid += short
        pool.paid_used += paid
        pool.gift_used += gift
        pool.consumed_amount += pool.restate()
        new_marks.append((mark, pool, paid, gift, reason, old))
    result.recognised = sum(p.consumed_amount - sum(p.reversed_amount.values()) for p in pools.values())

    if not new_marks and not retire:
        return result
    organization_id = session.organization_id
    # Read with the session lock; absent only if the subject has no revenue account (which raises).
    revenue = revenue_account if revenue_account is not None else revenue_account_id(session.class_group)
    if arrears:
        # The fixed lock order: counters, then accounts by pk, then the chain head (in posting).
        Counter.objects.select_for_update().filter(organization_id=organization_id, name="order").first()
        receivables = list(
            Account.objects.filter(
                student_id__in=[a.pool.enrolment.student_id for a in arrears], role=AccountRole.RECEIVABLE
            ).values_list("pk", flat=True)
        )
        list(
            Account.objects.select_for_update()
            .filter(pk__in=[*(deferred[pk] for pk in pools if pk in deferred), revenue, *receivables])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        assert actor is not None
        for owed in arrears:
            result.arrears_orders.append(
                create_order(
                    actor=actor,
                    student=owed.pool.enrolment.student,
                    lines=[owed.line],
                    kind=Order.Kind.ENROLMENT,
                    enrolment_id=owed.pool.enrolment.pk,
                    internal_notes=_("Arrears for the session of %(date)s.") % {"date": session.date},
                )
            )

    round_no = session.roll_call_count + 1
    prefix = f"session:{session.pk}:rc{round_no}"
    drafts: list[EntryDraft] = []
    reversed_by_entry: dict[int | None, dict[int, int]] = defaultdict(dict)
    for pool in pools.values():
        for entry_id, amount in pool.reversed_amount.items():
            if amount:
                reversed_by_entry[entry_id][deferred[pool.enrolment.pk]] = -amount
    for entry_id, legs in reversed_by_entry.items():
        drafts.append(
            EntryDraft(
                code=EntryCode.REVERSAL,
                idempotency_key=f"{prefix}:reversal:{entry_id or 0}",
                legs=[*(Leg(a, amt) for a, amt in legs.items()), Leg(revenue, -sum(legs.values()))],
                effective_date=session.date,
                memo=_("Attendance corrected · %(class)s %(date)s")
                % {"class": session.class_group.name, "date": session.date},
                reverses_id=entry_id,
            )
        )
    consumption_legs = [
        Leg(deferred[pool.enrolment.pk], pool.consumed_amount)
        for pool in pools.values()
        if pool.consumed_amount
    ]
    consumed_total = sum(leg.amount for leg in consumption_legs)
    if consumption_legs:
        drafts.append(
            EntryDraft(
                code=EntryCode.CONSUMPTION,
                idempotency_key=f"{prefix}:consumption",
                legs=[*consumption_legs, *([Leg(revenue, -consumed_total)] if consumed_total else [])],
                effective_date=session.date,
                memo=_("Roll call · %(class)s %(date)s")
                % {"class": session.class_group.name, "date": session.date},
            )
        )
    entries = post_entries(organization_id=organization_id, actor=actor, drafts=drafts) if drafts else []
    result.entries = entries
    consumption_entry = entries[-1] if consumption_legs else None

    if retire:
        Attendance.objects.filter(pk__in=[a.pk for a in retire]).update(is_current=False)
    rows = _insert_marks(
        organization_id=organization_id,
        session=session,
        new_marks=new_marks,
        set_by_role=set_by_role,
        actor=actor,
        consumption_entry=consumption_entry,
    )
    result.marks = rows
    if credits_to_release:
        MakeupCredit.objects.filter(used_by_id__in=credits_to_release).update(used_by=None)
    if grants_to_revoke:
        MakeupCredit.objects.filter(pk__in=grants_to_revoke).update(revoked=True)
    by_student = {row.student_id: row for row in rows}
    for student_id, credit in credits_to_use.items():
        MakeupCredit.objects.filter(pk=credit.pk).update(used_by=by_student[student_id])
    grants = [
        MakeupCredit(
            organization_id=organization_id,
            enrolment_id=row.enrolment_id,
            granted_by=row,
            expires_on=session.date + datetime.timedelta(days=reason.makeup_valid_days),
        )
        for row, (_m, _p, _pd, _g, reason, _o) in zip(rows, new_marks, strict=True)
        if reason is not None and reason.rule == AbsenceReason.Rule.DEDUCT_MAKEUP
    ]
    if grants:
        MakeupCredit.objects.bulk_create(grants)

    _save_pools(pools.values())
    sql.update_by_pk(
        Session,
        [session.pk],
        assign={
            "roll_call_count": {session.pk: round_no},
            "roll_called_at": {session.pk: timezone.now()},
            "roll_call_entry": {
                session.pk: consumption_entry.pk if consumption_entry else session.roll_call_entry_id
            },
        },
    )
    session.roll_call_count = round_no
    record_audit(
        actor=actor,
        action="attendance.corrected" if retire else "attendance.recorded",
        target=session,
        amount=result.recognised,
        data={
            "set_by": set_by_role,
            "marks": [
                {
                    "student": row.student_id,
                    "status": row.status,
                    "reason": reason.code if reason else None,
                    "hours": str(row.paid_hours + row.gift_hours),
                    "replaces": old.pk if old else None,
                }
                for row, (_m, _p, _pd, _g, reason, old) in zip(rows, new_marks, strict=True)
            ],
            "entries": [e.pk for e in entries],
            "arrears_orders": [o.number for o in result.arrears_orders],
        },
    )
    return result


_MARK_COLUMNS = (
    "organization_id",
    "session_id",
    "enrolment_id",
    "student_id",
    "status",
    "reason_id",
    "set_by_role",
    "set_by_id",
    "paid_hours",
    "gift_hours",
    "makeup_credit_used",
    "amount",
    "entry_id",
    "replaces_id",
    "is_current",
    "created_at",
)


def _insert_marks(
    *,
    organization_id: int,
    session: Session,
    new_marks: list[tuple[Mark, _Pool, Decimal, Decimal, AbsenceReason | None, Attendance | None]],
    set_by_role: str,
    actor: User | None,
    consumption_entry: JournalEntry | None,
) -> list[Attendance]:
    """INSERT the new marks in one statement and return them as saved instances (related objects
    cached, as the ORM would have them after bulk_create)."""
    created_at = timezone.now()
    session_id, actor_id = session.pk, actor.pk if actor else None
    entry_id = consumption_entry.pk if consumption_entry else None
    values = [
        (
            organization_id,
            session_id,
            pool.enrolment.pk,
            mark.student_id,
            mark.status,
            reason.pk if reason else None,
            set_by_role,
            actor_id,
            paid,
            gift,
            mark.use_makeup_credit,
            pool.consumed_amount,
            entry_id if pool.consumed_amount else None,
            old.pk if old else None,
            True,
            created_at,
        )
        for mark, pool, paid, gift, reason, old in new_marks
    ]
    ids = sql.insert_rows(Attendance, _MARK_COLUMNS, values, returning=("id",))
    return sql.saved(
        Attendance,
        ("id", *_MARK_COLUMNS),
        [(pk, *row) for (pk,), row in zip(ids, values, strict=True)],
        related=[
            {
                "session": session,
                "enrolment": pool.enrolment,
                "reason": reason,
                "set_by": actor,
                "entry": consumption_entry if row[12] is not None else None,
                "replaces": old,
            }
            for row, (_mark, pool, _paid, _gift, reason, old) in zip(values, new_marks, strict=True)
        ],
    )


def _save_pools(pools: Iterable[_Pool]) -> None:
    """Write the enrolments' new hours and recognition. One parameterised UPDATE run for all rows:
    bulk_update's CASE expressions cost more than the whole rest of a roll call."""
    table = Enrolment._meta.db_table
    rows = [
        (
            p.purchased,
            p.tuition,
            p.paid_used,
            p.gift_used,
            p.paid_used + p.gift_used,
            p.recognised,
            p.enrolment.pk,
        )
        for p in pools
    ]
    sql.execute_many(
        f"UPDATE {table} SET purchased_hours = %s, tuition_amount = %s, paid_consumed_hours = %s, "
        "gift_consumed_hours = %s, consumed_hours = %s, recognised_amount = %s WHERE id = %s",
        rows,
    )
