"""The demo term's class hours, through the attendance services on the loader's replay clock.

When the classes are set up, the school installs the usual absence reasons, closes one campus for
a day later in the term and generates every class's sessions from its weekly schedule (public
holidays skipped). Staff then cancel a day of lessons (an air-pollution alert) and one coming
lesson, and move or hand over a few. Each past session's roll call is taken a few minutes after
it starts (now and then the next day, by the front desk; the latest lesson of two classes is not
taken yet): mostly present, with sick leave (no hours used), absences without notice and personal
leave (hours used, a make-up credit granted, spent at a make-up lesson a few days later). Families
report some leave ahead through the portal service, a few of it for lessons still to come.

The marks are drawn when a roll call is replayed, from the enrolments the class has at that
moment; a student whose hours are used up stops coming until the family renews, which is what
fills the renewal warnings, with two lesson cards near their validity date.
"""

import datetime
from collections import defaultdict
from functools import partial
from typing import TYPE_CHECKING

from feedesk.attendance.calendar import statutory_holidays
from feedesk.attendance.models import AbsenceReason, Attendance, MakeupCredit, Session
from feedesk.attendance.services import (
    Mark,
    add_closed_date,
    add_session,
    cancel_session,
    generate_sessions,
    install_default_reasons,
    report_absence,
    reschedule_session,
    take_roll_call,
)
from feedesk.catalog.models import PriceModel
from feedesk.demo import data
from feedesk.enrolment.models import Enrolment
from feedesk.people.models import Guardian, Student
from feedesk.users.models import User

if TYPE_CHECKING:
    from feedesk.demo.services import StudentPlan, _Loader

PRESENT, ABSENT, LEAVE = Attendance.Status.PRESENT, Attendance.Status.ABSENT, Attendance.Status.LEAVE
# What an instructor marks, by weight (per thousand): the reason codes are the default table's.
_MARKS: list[tuple[str, str | None, int]] = [
    (PRESENT, None, 905),
    (LEAVE, "sick", 30),
    (ABSENT, "no_show", 25),
    (LEAVE, "personal", 20),
    (LEAVE, "school_event", 20),
]
_STUDENT_REASONS = ["personal", "school_event"]  # what families may choose in the portal
_POLLUTION = "空气重污染红色预警，按教委通知停课，课时不扣"
_CLOSED = "朝阳校区消防设施年检，停课一天"
_TEACHER_SICK = "任课老师病假，本次课取消，课时不扣，学期末补上"
_MOVED = "老师参加区教研活动，本周课调至周日同一时间"
_COVER = "任课老师外出培训，本次由%s老师代课"
_LATER = "场地调整，本次课推迟一小时"
_MAKEUP = "事假补课"


def _start(day: datetime.date, at: datetime.time, tz: datetime.tzinfo) -> datetime.datetime:
    return datetime.datetime.combine(day, at, tzinfo=tz)


def _minutes(session: Session) -> int:
    start = datetime.datetime.combine(session.date, session.start_time)
    return int((datetime.datetime.combine(session.date, session.end_time) - start).total_seconds() // 60)


class TermHours:
    """Plans the term's sessions, roll calls and absences for a loader, and replays them."""

    def __init__(self, loader: "_Loader") -> None:
        self.loader = loader
        self.holidays: set[datetime.date] = set()
        self.group_index: dict[int, int] = {}  # class pk → index into data.CLASSES
        # Where and when each session meets once the planned changes are made: (date, start).
        self.when: dict[int, tuple[datetime.date, datetime.time]] = {}
        self.changed: set[int] = set()  # sessions cancelled or moved: families report no leave on them
        self.cancelled: set[int] = set()
        self.rules: dict[str, str] = {}  # absence reason code → its rule

    # set-up and plan -----------------------------------------------------------------------------

    def set_up(self) -> None:
        """Reasons, the closed date and every class's sessions, when the classes are created."""
        loader = self.loader
        principal = loader.staff["principal"]
        self.rules = {r.code: r.rule for r in install_default_reasons(actor=principal)}
        # A Sunday in the fifteenth week, still to come; generation leaves it out at 朝阳校区.
        closed = loader.term_start + datetime.timedelta(weeks=14, days=6)
        add_closed_date(actor=principal, date=closed, reason=_CLOSED, campus=loader.campuses["chaoyang"])
        for index, group in enumerate(loader.class_groups):
            generate_sessions(actor=principal, class_group=group)
            self.group_index[group.pk] = index
        self.holidays, _provisional = statutory_holidays(loader.term_start, loader.term_end)

    def plan(self, plans: list["StudentPlan"]) -> None:
        loader = self.loader
        sessions = list(
            Session.objects.filter(class_group__in=loader.class_groups).order_by("date", "start_time", "pk")
        )
        self.when = {s.pk: (s.date, s.start_time) for s in sessions}
        self._plan_changes(sessions)
        self._plan_roll_calls(plans, sessions)
        self._plan_reports(plans, sessions)
        self._plan_validity()

    def _starts(self, session: Session) -> datetime.datetime:
        day, at = self.when[session.pk]
        return _start(day, at, self.loader.tz)

    def _head_teacher(self, session: Session) -> str:
        return self._head_teacher_of(self.group_index[session.class_group_id])

    @staticmethod
    def _head_teacher_of(index: int) -> str:
        return "headteacher" if data.CLASSES[index].campus == "haidian" else "headteacher2"

    def _plan_changes(self, sessions: list[Session]) -> None:
        """A cancelled day and lesson, a lesson moved to Sunday, one taught by a substitute, one later."""
        loader, rng = self.loader, self.loader.rng
        # The Wednesday of the tenth week: every lesson that day is called off in the morning.
        alert = loader.term_start + datetime.timedelta(weeks=9, days=2)
        for session in [s for s in sessions if s.date == alert]:
            self.changed.add(session.pk)
            self.cancelled.add(session.pk)
            moment = loader._moment(alert, hour=7)
            loader._at(moment, partial(self._cancel, session.pk, _POLLUTION, "headteacher"))
        past = [s for s in sessions if s.pk not in self.changed and loader.today > s.date]
        coming = [
            s
            for s in sessions
            if loader.today + datetime.timedelta(days=2)
            <= s.date
            <= loader.today + datetime.timedelta(days=14)
        ]

        def pick(candidates: list[Session]) -> Session | None:
            free = [s for s in candidates if s.pk not in self.changed]
            if not free:
                return None
            chosen = rng.choice(free)
            self.changed.add(chosen.pk)
            return chosen

        def announced(session: Session, days: int) -> datetime.datetime:
            """A desk moment `days` before the session (or today, for one very near)."""
            day = max(session.date - datetime.timedelta(days=days), loader.term_start)
            return min(loader._moment(day), self._starts(session) - datetime.timedelta(hours=3))

        sick = pick(coming)
        if sick is not None:
            self.cancelled.add(sick.pk)
            at = min(loader._moment(loader.today), self._starts(sick) - datetime.timedelta(hours=3))
            loader._at(at, partial(self._cancel, sick.pk, _TEACHER_SICK, self._head_teacher(sick)))
        weekends = [
            s
            for s in past
            if s.date.weekday() == 5
            and loader.term_start + datetime.timedelta(weeks=2) <= s.date
            and s.date + datetime.timedelta(days=1) not in self.holidays
            and s.date + datetime.timedelta(days=1) < loader.today
        ]
        moved = pick(weekends)
        if moved is not None:
            day = moved.date + datetime.timedelta(days=1)
            action = partial(self._move, moved.pk, day, moved.start_time, moved.end_time, None, _MOVED)
            loader._at(announced(moved, 4), action)
            self.when[moved.pk] = (day, moved.start_time)
        covered = pick([s for s in past if s.date >= loader.term_start + datetime.timedelta(weeks=3)])
        if covered is not None:
            teachers = [m.username for m in data.STAFF if m.role == "instructor"]
            instructor = data.CLASSES[self.group_index[covered.class_group_id]].instructor
            substitute = rng.choice([t for t in teachers if t != instructor])
            note = _COVER % loader.staff[substitute].display_name
            action = partial(
                self._move, covered.pk, covered.date, covered.start_time, covered.end_time, substitute, note
            )
            loader._at(announced(covered, 2), action)
        later = pick([s for s in coming if s.end_time < datetime.time(22)])
        if later is not None:
            start = (
                datetime.datetime.combine(later.date, later.start_time) + datetime.timedelta(hours=1)
            ).time()
            end = (datetime.datetime.combine(later.date, later.end_time) + datetime.timedelta(hours=1)).time()
            loader._at(
                min(loader._moment(loader.today), self._starts(later) - datetime.timedelta(hours=3)),
                partial(self._move, later.pk, later.date, start, end, None, _LATER),
            )
            self.when[later.pk] = (later.date, start)

    def _plan_roll_calls(self, plans: list["StudentPlan"], sessions: list[Session]) -> None:
        """A roll call for every past lesson that was not called off, except the latest of two classes."""
        loader, rng = self.loader, self.loader.rng
        early = loader.term_start + datetime.timedelta(weeks=3)
        taught = {loader.class_groups[i].pk for p in plans if p.registered.date() < early for i in p.classes}
        due: dict[int, list[Session]] = defaultdict(list)
        for session in sessions:
            if session.pk in self.cancelled or self._starts(session) >= loader.latest:
                continue
            due[session.class_group_id].append(session)
        waiting = sorted(group_id for group_id in due if group_id in taught)  # classes with students
        not_yet = set(rng.sample(waiting, min(2, len(waiting))))
        for group_id, group_sessions in due.items():
            ordered = sorted(group_sessions, key=self._starts)
            if group_id in not_yet:
                ordered = ordered[:-1]
            for session in ordered:
                starts = self._starts(session)
                roll = rng.random()
                if roll < 0.05 and starts.date() < loader.today:
                    # Forgotten in class; the front desk takes it the next day.
                    moment = max(loader._moment(starts.date() + datetime.timedelta(days=1)), starts)
                    who = "desk"
                else:
                    moment = starts + datetime.timedelta(
                        minutes=rng.randint(2, 25), seconds=rng.randrange(60)
                    )
                    who = "desk" if roll < 0.12 else "head" if roll < 0.16 else "instructor"
                if moment > loader.latest:
                    continue  # the lesson has only just started
                loader._at(moment, partial(self._roll_call, session.pk, who))

    def _plan_reports(self, plans: list["StudentPlan"], sessions: list[Session]) -> None:
        """Leave families report in the portal: some for lessons since taught, some still to come."""
        loader, rng = self.loader, self.loader.rng
        by_group: dict[int, list[Session]] = defaultdict(list)
        for session in sessions:
            if session.pk not in self.changed:
                by_group[session.class_group_id].append(session)
        soon = loader.latest + datetime.timedelta(hours=3)

        def plan_report(plan: "StudentPlan", index: int, future: bool, reason: str = "") -> None:
            group = loader.class_groups[index]
            if future:
                choices = [s for s in by_group[group.pk] if self._starts(s) >= soon][:3]  # the next three
            else:
                choices = [
                    s
                    for s in by_group[group.pk]
                    if plan.registered + datetime.timedelta(days=3) <= self._starts(s) < loader.latest
                ]
            if not choices:
                return
            if plan.key < 2:  # the portal family's: last week's lesson, or the next one
                session = choices[0] if future else choices[-2 if len(choices) > 1 else 0]
            else:
                session = rng.choice(choices)
            starts = self._starts(session)
            if future:
                moment = loader.latest - datetime.timedelta(minutes=rng.randint(5, 3 * 24 * 60))
            else:
                moment = starts - datetime.timedelta(minutes=rng.randint(3 * 60, 3 * 24 * 60))
            moment = max(moment, plan.registered + datetime.timedelta(hours=1))
            if moment > loader.latest:
                return
            reason = reason or rng.choice(_STUDENT_REASONS)
            by_student = bool(plan.phone) and rng.random() < 0.4
            loader._at(moment, partial(self._report, plan, session.pk, reason, by_student))

        enrolled = [p for p in plans[2:] if p.classes]
        for _n in range(max(4, len(plans) // 16)):
            plan = rng.choice(enrolled)
            plan_report(plan, rng.choice(plan.classes), future=False)
        for _n in range(max(3, len(plans) // 32)):
            plan = rng.choice(enrolled)
            plan_report(plan, rng.choice(plan.classes), future=True)
        # The portal family: 张子轩 was away for a school event, and both children miss a coming lesson.
        plan_report(plans[1], plans[1].classes[0], future=False, reason="school_event")
        plan_report(plans[0], plans[0].classes[0], future=True, reason="personal")
        plan_report(plans[1], plans[1].classes[0], future=True, reason="school_event")

    def _plan_validity(self) -> None:
        """Two lesson cards (per-lesson enrolments where there are some) valid only until next week."""
        loader = self.loader
        candidates = [
            key
            for key, (plan, index, behaviour, _options) in loader.planned_enrolments.items()
            if plan.key >= 2 and behaviour != "cancel"
        ]
        per_lesson = {c.key for c in data.COURSES if c.price_model == PriceModel.PER_LESSON}
        cards = [k for k in candidates if data.CLASSES[loader.planned_enrolments[k][1]].course in per_lesson]
        chosen = loader.rng.sample(cards, min(2, len(cards)))
        chosen += loader.rng.sample([k for k in candidates if k not in chosen], 2 - len(chosen))
        for key in chosen:
            days = loader.rng.randint(4, 12)
            # The options are the ones the enrolment event will pass to enrol_student.
            loader.planned_enrolments[key][3]["valid_until"] = loader.today + datetime.timedelta(days=days)

    # replay ----------------------------------------------------------------------------------

    def _staff(self, session: Session, who: str) -> User:
        loader = self.loader
        if who == "instructor":
            return next(u for u in loader.staff.values() if u.pk == session.instructor_id)
        campus = data.CLASSES[self.group_index[session.class_group_id]].campus
        if who == "desk":
            return loader.staff["cashier" if campus == "haidian" else "cashier2"]
        if who == "head":
            return loader.staff[self._head_teacher(session)]
        return loader.staff[who]

    def _cancel(self, session_id: int, reason: str, who: str) -> None:
        session = Session.objects.get(pk=session_id)
        cancel_session(actor=self._staff(session, who), session=session, reason=reason)

    def _move(
        self,
        session_id: int,
        day: datetime.date,
        start: datetime.time,
        end: datetime.time,
        substitute: str | None,
        note: str,
    ) -> None:
        session = Session.objects.get(pk=session_id)
        reschedule_session(
            actor=self._staff(session, "head"),
            session=session,
            date=day,
            start_time=start,
            end_time=end,
            instructor=self.loader.staff[substitute] if substitute else None,
            note=note,
        )

    def _active(self, session: Session) -> list[Enrolment]:
        """The class's enrolments a roll call may mark now: not about to be cancelled, still valid."""
        loader = self.loader
        leaving = {loader.enrolments[k] for k in loader.cancelling if k in loader.enrolments}
        return [
            e
            for e in Enrolment.objects.filter(
                class_group_id=session.class_group_id, status=Enrolment.Status.ACTIVE
            ).order_by("pk")
            if e.pk not in leaving and (e.valid_until is None or e.valid_until >= session.date)
        ]

    def _roll_call(self, session_id: int, who: str) -> None:
        loader, rng = self.loader, self.loader.rng
        session = Session.objects.get(pk=session_id)
        if session.status == Session.Status.CANCELLED:
            return
        marked = set(
            Attendance.objects.filter(session=session, is_current=True).values_list("student_id", flat=True)
        )
        marks = []
        choices, weights = [(s, r) for s, r, _w in _MARKS], [w for _s, _r, w in _MARKS]
        for enrolment in self._active(session):
            if enrolment.student_id in marked:
                continue  # the family reported leave ahead; the instructor keeps it
            if enrolment.remaining_hours < session.hours:
                continue  # hours used up: the student comes back once the family renews
            status, reason = rng.choices(choices, weights)[0]
            marks.append(Mark(enrolment.student_id, status, reason))
        if marks:
            take_roll_call(actor=self._staff(session, who), session=session, marks=marks)
        makeup = AbsenceReason.Rule.DEDUCT_MAKEUP
        if not marked and not any(m.reason_code and self.rules[m.reason_code] == makeup for m in marks):
            return
        # Personal leave granted make-up credits: most get a make-up lesson a few days later.
        owed = list(
            MakeupCredit.objects.filter(granted_by__session=session, revoked=False).values_list(
                "granted_by__student_id", flat=True
            )
        )
        if owed and rng.random() < 0.8:
            day = session.date + datetime.timedelta(days=rng.randint(3, 10))
            while day in self.holidays:
                day += datetime.timedelta(days=1)
            start = datetime.time(16, 30) if day.weekday() < 5 else datetime.time(12, 30)
            end = (
                datetime.datetime.combine(day, start) + datetime.timedelta(minutes=_minutes(session))
            ).time()
            arranged = loader._days_later(loader.clock.now(), 1, 2)
            taken = _start(day, start, loader.tz) + datetime.timedelta(minutes=rng.randint(3, 15))
            # Only lessons already given: each make-up lesson is planned with its roll call.
            if arranged < taken - datetime.timedelta(hours=24) and taken <= loader.latest:
                action = partial(self._add_makeup, session.class_group_id, day, start, end, owed, taken)
                loader._at(arranged, action)

    def _add_makeup(
        self,
        group_id: int,
        day: datetime.date,
        start: datetime.time,
        end: datetime.time,
        students: list[int],
        taken: datetime.datetime,
    ) -> None:
        index = self.group_index[group_id]
        # The lesson is for the students owed one who are still in the class.
        held_for = list(
            Student.objects.filter(
                pk__in=students,
                enrolments__class_group_id=group_id,
                enrolments__status=Enrolment.Status.ACTIVE,
            )
            .distinct()
            .order_by("pk")
        )
        if not held_for:
            return
        session = add_session(
            actor=self.loader.staff[self._head_teacher_of(index)],
            class_group=self.loader.class_groups[index],
            date=day,
            start_time=start,
            end_time=end,
            note=_MAKEUP,
            students=held_for,
        )
        self.loader._at(taken, partial(self._makeup_roll_call, session.pk, students))

    def _makeup_roll_call(self, session_id: int, students: list[int]) -> None:
        session = Session.objects.get(pk=session_id)
        credits = set(
            MakeupCredit.objects.filter(
                enrolment__class_group_id=session.class_group_id,
                enrolment__status=Enrolment.Status.ACTIVE,
                granted_by__student_id__in=students,
                used_by__isnull=True,
                revoked=False,
                expires_on__gte=session.date,
            ).values_list("granted_by__student_id", flat=True)
        )
        marks = [Mark(pk, PRESENT, use_makeup_credit=True) for pk in students if pk in credits]
        if marks:
            take_roll_call(actor=self._staff(session, "instructor"), session=session, marks=marks)

    def _report(self, plan: "StudentPlan", session_id: int, reason: str, by_student: bool) -> None:
        """A guardian (or the student) reports leave in the portal, if the student is enrolled by then."""
        loader = self.loader
        student = loader.students.get(plan.key)
        session = Session.objects.get(pk=session_id)
        if student is None or session.status == Session.Status.CANCELLED:
            return
        enrolment = next((e for e in self._active(session) if e.student_id == student.pk), None)
        if (
            enrolment is None
            or Attendance.objects.filter(session=session, student=student, is_current=True).exists()
        ):
            return
        if self.rules[reason] != AbsenceReason.Rule.NO_DEDUCT and enrolment.remaining_hours < session.hours:
            reason = "school_event"
        reporter: Guardian | Student = (
            student if by_student else Guardian.objects.get(pk=loader.guardians[plan.guardians[0][1]].pk)
        )
        report_absence(reporter=reporter, session=session, student=student, reason_code=reason)
