"""The demo school, loaded through the same services the desk uses, so its ledger is real.

The loader plans a term of desk work with a seeded random generator (names, families, classes,
what each family pays and when), then replays it in time order. The services stamp rows with
`timezone.now()`, so during the replay that clock is moved to each event's moment: orders are
issued, payments received and journal entries recorded when they would have been, ending today.
The class hours (sessions, roll calls, absences: see `feedesk.demo.hours`) are replayed on the
same clock, so a roll call's consumption entry is recorded a few minutes after its session starts.
"""

import dataclasses
import datetime
import heapq
import itertools
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from feedesk.attendance.models import Attendance, Session
from feedesk.attendance.selectors import renewal_warnings
from feedesk.billing.models import Order
from feedesk.billing.services import Discount, DiscountKind, LineDraft, cancel_order, create_order
from feedesk.catalog.models import ClassGroup, Course, Subject
from feedesk.catalog.services import create_class, create_course, create_subject
from feedesk.core.permissions import Role
from feedesk.demo import data
from feedesk.demo.hours import TermHours
from feedesk.enrolment.services import enrol_student
from feedesk.gateways.models import GatewayKind
from feedesk.gateways.registry import simulated_allowed
from feedesk.gateways.services import save_gateway_config
from feedesk.ledger.models import JournalEntry
from feedesk.ledger.selectors import verify_ledger
from feedesk.organizations.models import Campus, Organization
from feedesk.organizations.services import create_campus, create_organization
from feedesk.payments.models import Channel, Payment
from feedesk.payments.selectors import student_account
from feedesk.payments.services import AllocationRequest, apply_credit, record_payment, reverse_payment
from feedesk.people.models import Guardian, Student
from feedesk.people.services import create_guardian, create_student
from feedesk.portal.services import update_portal_settings
from feedesk.users.models import User

YUAN = 100


class DemoLedgerBroken(Exception):
    """The loaded demo did not pass `verify_ledger`; nothing was kept."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(problems)} ledger problem(s): {problems[:5]}")
        self.problems = problems


@dataclass(frozen=True)
class DemoSummary:
    organization: Organization
    created: bool
    campuses: int
    subjects: int
    courses: int
    classes: int
    students: int
    guardians: int
    orders: int
    payments: int
    entries: int
    sessions: int
    cancelled_sessions: int
    roll_calls: int
    marks: int
    reported_absences: int
    renewal_warnings: int


def summarize(organization: Organization, *, created: bool) -> DemoSummary:
    org_id = organization.pk
    sessions = Session.objects.filter(organization_id=org_id)
    marks = Attendance.objects.filter(organization_id=org_id, is_current=True)
    principal = User.objects.filter(organization_id=org_id, role=Role.PRINCIPAL).order_by("pk").first()
    warnings = renewal_warnings(user=principal) if principal is not None else []
    return DemoSummary(
        organization=organization,
        created=created,
        campuses=Campus.objects.filter(organization_id=org_id).count(),
        subjects=Subject.objects.filter(organization_id=org_id).count(),
        courses=Course.objects.filter(organization_id=org_id).count(),
        classes=ClassGroup.objects.filter(organization_id=org_id).count(),
        students=Student.objects.filter(organization_id=org_id).count(),
        guardians=Guardian.objects.filter(organization_id=org_id).count(),
        orders=Order.objects.filter(organization_id=org_id).count(),
        payments=Payment.objects.filter(organization_id=org_id).count(),
        entries=JournalEntry.objects.filter(organization_id=org_id).count(),
        sessions=sessions.count(),
        cancelled_sessions=sessions.filter(status=Session.Status.CANCELLED).count(),
        # Sessions whose roll call staff took (a family's reported leave alone is not one).
        roll_calls=marks.filter(set_by_role=Attendance.SetBy.STAFF).values("session_id").distinct().count(),
        marks=marks.count(),
        reported_absences=marks.exclude(set_by_role=Attendance.SetBy.STAFF).count(),
        renewal_warnings=sum(len(group) for _adviser, group in warnings),
    )


def load_demo(*, students: int = data.DEFAULT_STUDENTS, seed: int = 2026) -> DemoSummary:
    """Load the demo school unless it exists already; all or nothing."""
    existing = Organization.objects.filter(slug=data.ORGANIZATION_SLUG).first()
    if existing is not None:
        return summarize(existing, created=False)
    loader = _Loader(rng=random.Random(seed), students=students, real_now=timezone.now())
    with transaction.atomic():
        with loader.clock.installed():
            organization = loader.run()
        report = verify_ledger(organization_id=organization.pk)
        if not report.ok:
            raise DemoLedgerBroken(report.problems)
    return summarize(organization, created=True)


class ReplayClock:
    """Stands in for `django.utils.timezone.now` while the term is replayed; never runs ahead."""

    def __init__(self, real_now: datetime.datetime) -> None:
        self.real_now = real_now
        self.at = real_now

    def move_to(self, moment: datetime.datetime) -> None:
        self.at = min(moment, self.real_now)

    def now(self) -> datetime.datetime:
        return self.at

    @contextmanager
    def installed(self) -> Iterator[None]:
        real = timezone.now
        timezone.now = self.now
        try:
            yield
        finally:
            timezone.now = real


# Planning --------------------------------------------------------------------------------------


@dataclass
class StudentPlan:
    key: int
    name: str
    campus: str
    guardians: list[tuple[str, str, str]]  # (name, phone, relation)
    phone: str
    school: str
    birth_date: datetime.date
    registered: datetime.datetime
    classes: list[int] = field(default_factory=list)  # indexes into data.CLASSES
    sibling_rank: int = 0  # 0 for the first child of a family


@dataclass(frozen=True)
class PaymentPlan:
    """How much to pay: an order's whole balance, a share of it, rounded up past it (the rest
    becomes credit), everything the student owes at once (oldest due first), or, by mistake,
    the student's last payment once more (all of it credit)."""

    rule: str  # "balance" | "share" | "round_up" | "all" | "to_credit"
    channel: str
    reference: str
    key: str
    order_key: str = ""
    share_percent: int = 100
    copies: str = ""  # for "to_credit": the key of the payment recorded again


_CHANNEL_WEIGHTS = [
    (Channel.WECHAT_PAY, 34),
    (Channel.ALIPAY, 20),
    (Channel.POS, 14),
    (Channel.CASH, 10),
    (Channel.BANK_TRANSFER, 10),
    (Channel.ONLINE, 9),
    (Channel.OTHER, 3),
]
_BANKS = ["招商银行", "工商银行", "建设银行", "中国银行", "农业银行", "交通银行"]
_ONLINE_NOTES = [
    "可在家长端在线缴费，请于截止日前缴清，谢谢！",
    "请通过家长端缴费；如需分期请联系前台。",
    "学费可在线支付，支付成功后电子收据自动发送。",
]
_DESK_NOTES = ["家长要求开具发票", "已电话确认缴费时间", "老学员续报", "渠道：地推活动", "试听后报名"]
_CANCEL_REASONS = ["家长改报周末班，原订单作废", "试听后决定暂不报名", "时间冲突，家长取消报名"]
_MANUAL_CANCEL_REASONS = ["重复开单", "家长已自行购买"]


class _Loader:
    def __init__(self, *, rng: random.Random, students: int, real_now: datetime.datetime) -> None:
        self.rng = rng
        self.student_count = students
        self.clock = ReplayClock(real_now)
        self.tz = timezone.get_current_timezone()
        self.real_now = real_now
        self.latest = real_now - datetime.timedelta(minutes=1)
        self.today = timezone.localdate(real_now)
        # The autumn term started on the Monday about eleven weeks ago and runs for twenty weeks.
        start = self.today - datetime.timedelta(weeks=11)
        self.term_start = start - datetime.timedelta(days=start.weekday())
        self.term_end = self.term_start + datetime.timedelta(weeks=20, days=-1)
        self.setup_at = self._moment(self.term_start - datetime.timedelta(days=28), hour=10)
        # A heap of (moment, serial, action); replayed actions may plan more (a make-up lesson).
        self.events: list[tuple[datetime.datetime, int, Callable[[], None]]] = []
        self.serial = itertools.count()
        self.used_phones: set[str] = {data.GUARDIAN_PHONE, "13911112222"}  # the portal family's
        self.payment_serial = 0
        self.channel_cycle = [c for c, _w in _CHANNEL_WEIGHTS]
        self.staff: dict[str, User] = {}
        self.campuses: dict[str, Campus] = {}
        self.courses: dict[str, Course] = {}
        self.class_groups: list[ClassGroup] = []
        self.students: dict[int, Student] = {}
        self.guardians: dict[str, Guardian] = {}
        self.orders: dict[str, int] = {}
        self.enrolments: dict[str, int] = {}  # enrolment key → Enrolment pk
        self.planned_enrolments: dict[str, tuple[StudentPlan, int, str, dict[str, Any]]] = {}
        self.cancelling: set[str] = set()  # enrolment keys whose order is still to be cancelled
        self.payments: dict[str, Payment] = {}
        self.password = ""
        self.hours = TermHours(self)

    # time ------------------------------------------------------------------------------------

    def _moment(self, day: datetime.date, hour: int | None = None) -> datetime.datetime:
        """A desk-hours moment on `day` (09:00–20:30 local), never later than just now."""
        minutes = self.rng.randrange(9 * 60, 20 * 60 + 30) if hour is None else hour * 60
        moment = datetime.datetime.combine(day, datetime.time(), tzinfo=self.tz) + datetime.timedelta(
            minutes=minutes, seconds=self.rng.randrange(60)
        )
        if day >= self.today:
            # Today: spread over the hours already gone (morning first), never in the future.
            midnight = datetime.datetime.combine(self.today, datetime.time(), tzinfo=self.tz)
            opening = min(midnight + datetime.timedelta(hours=9), self.latest - datetime.timedelta(hours=1))
            opening = max(opening, midnight)
            span = max(int((self.latest - opening).total_seconds()), 1)
            moment = opening + datetime.timedelta(seconds=self.rng.randrange(span))
        return min(moment, self.latest)

    def _later(self, moment: datetime.datetime, low: int, high: int) -> datetime.datetime:
        return min(moment + datetime.timedelta(minutes=self.rng.randint(low, high)), self.latest)

    def _days_later(self, moment: datetime.datetime, low: int, high: int) -> datetime.datetime:
        day = timezone.localdate(moment) + datetime.timedelta(days=self.rng.randint(low, high))
        if day >= self.today:
            return max(self._moment(self.today), moment)
        return max(self._moment(day), moment + datetime.timedelta(minutes=1))

    def _at(self, moment: datetime.datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.events, (moment, next(self.serial), action))

    # people ----------------------------------------------------------------------------------

    def _phone(self) -> str:
        while True:
            phone = self.rng.choice(data.PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                return phone

    def _child(
        self,
        surname: str,
        taken: set[str],
        campus: str,
        sibling_rank: int,
        registered: datetime.datetime,
        given: str = "",
    ) -> StudentPlan:
        given = given or self.rng.choice([n for n in data.CHILD_NAMES if n not in taken])
        taken.add(given)  # siblings never share a given name
        age = self.rng.randint(5, 15)
        birth = self.today - datetime.timedelta(days=age * 365 + self.rng.randrange(365))
        level = [s for s in data.SCHOOLS[campus] if ("中" in s) == (age >= 12)] or data.SCHOOLS[campus]
        return StudentPlan(
            key=0,
            name=surname + given,
            campus=campus,
            guardians=[],
            phone=self._phone() if age >= 12 and self.rng.random() < 0.6 else "",
            school=self.rng.choice(level),
            birth_date=birth,
            registered=registered,
            sibling_rank=sibling_rank,
        )

    def _registration_moment(self) -> datetime.datetime:
        roll = self.rng.random()
        if roll < 0.55:
            first, last = (
                self.term_start - datetime.timedelta(days=20),
                self.term_start + datetime.timedelta(7),
            )
        elif roll < 0.95:
            first, last = self.term_start + datetime.timedelta(days=8), self.today - datetime.timedelta(1)
        else:
            first = last = self.today
        day = first + datetime.timedelta(days=self.rng.randint(0, max((last - first).days, 0)))
        return self._moment(day)

    def plan_families(self) -> list[StudentPlan]:
        """Families of one to three children; the portal family (13800000001) comes first."""
        plans: list[StudentPlan] = []
        registered = self._moment(self.term_start - datetime.timedelta(days=10), hour=15)
        taken: set[str] = set()
        for rank, given in enumerate(["一诺", "子轩"]):
            moment = registered + datetime.timedelta(minutes=12 * rank)
            child = self._child("张", taken, "haidian", rank, moment, given=given)
            child.guardians = [("刘芳", data.GUARDIAN_PHONE, "mother"), ("张伟", "13911112222", "father")]
            plans.append(child)
        while len(plans) < self.student_count:
            size = self.rng.choices([1, 2, 3], weights=[72, 22, 6])[0]
            size = min(size, self.student_count - len(plans))
            surname = self.rng.choice(data.SURNAMES)
            campus = "haidian" if self.rng.random() < 0.55 else "chaoyang"
            mother = (self.rng.choice(data.SURNAMES) + self.rng.choice(data.PARENT_NAMES), self._phone())
            father = (surname + self.rng.choice(data.PARENT_NAMES), self._phone())
            roll = self.rng.random()
            if roll < 0.5:
                guardians = [(*mother, "mother")]
            elif roll < 0.8:
                guardians = [(*father, "father")]
            elif roll < 0.95:
                guardians = [(*mother, "mother"), (*father, "father")]
            else:
                grandma = (self.rng.choice(data.SURNAMES) + self.rng.choice(data.PARENT_NAMES), self._phone())
                guardians = [(*grandma, "grandparent"), (*mother, "mother")]
            taken = set()
            registered = self._registration_moment()
            for rank in range(size):
                child = self._child(surname, taken, campus, rank, registered)
                child.guardians = guardians
                plans.append(child)
                registered = self._later(registered, 5, 20)
        for key, plan in enumerate(plans):
            plan.key = key
        return plans

    def assign_classes(self, plans: list[StudentPlan]) -> None:
        """Fill the full classes first, then give most students a class and some a second or third."""
        seats = {i: spec.capacity for i, spec in enumerate(data.CLASSES)}
        by_course = {spec.course: i for i, spec in reversed(list(enumerate(data.CLASSES)))}
        # The portal family: both children owe money on their enrolment orders.
        plans[0].classes.append(by_course["olympiad"])
        plans[1].classes.append(by_course["art-kids"])
        for i in (by_course["olympiad"], by_course["art-kids"]):
            seats[i] -= 1

        def take(plan: StudentPlan, index: int) -> None:
            plan.classes.append(index)
            seats[index] -= 1

        others = plans[2:]
        for index, spec in enumerate(data.CLASSES):
            if spec.full:
                for plan in [p for p in others if p.campus == spec.campus and not p.classes]:
                    if seats[index] == 0:
                        break
                    take(plan, index)
        for plan in others:
            if plan.classes or self.rng.random() < 0.08:
                continue  # a few registered students have not chosen a class yet
            self._take_seat(plan, seats, take)
        for plan in others:
            extra = self.rng.choices([0, 1, 2], weights=[68, 26, 6])[0]
            for _n in range(extra if plan.classes else 0):
                self._take_seat(plan, seats, take)
        if not any(len(p.classes) >= 2 for p in others):  # one family pays two orders at once
            self._take_seat(next(p for p in others if p.classes), seats, take)

    def _take_seat(
        self, plan: StudentPlan, seats: dict[int, int], take: Callable[[StudentPlan, int], None]
    ) -> None:
        courses = {data.CLASSES[i].course for i in plan.classes}
        open_classes = [
            i
            for i, spec in enumerate(data.CLASSES)
            if spec.campus == plan.campus and seats[i] > 0 and spec.course not in courses and not spec.full
        ]
        if open_classes:  # emptier classes are likelier, so few fill up by chance
            take(plan, self.rng.choices(open_classes, weights=[seats[i] for i in open_classes])[0])

    # payments --------------------------------------------------------------------------------

    def _channel(self) -> str:
        if self.channel_cycle:  # the first payments use every channel once
            return self.channel_cycle.pop(0)
        return self.rng.choices([c for c, _w in _CHANNEL_WEIGHTS], [w for _c, w in _CHANNEL_WEIGHTS])[0]

    def _reference(self, channel: str, moment: datetime.datetime) -> str:
        day = timezone.localdate(moment).strftime("%Y%m%d")
        r = self.rng
        if channel == Channel.WECHAT_PAY:
            return f"420000{r.randrange(10**4):04d}{day}{r.randrange(10**10):010d}"
        if channel == Channel.ALIPAY:
            return f"{day}2200{r.randrange(10**4):04d}{r.randrange(10**12):012d}"
        if channel == Channel.POS:
            return f"POS 参考号 {r.randrange(10**12):012d}"
        if channel == Channel.BANK_TRANSFER:
            return f"{r.choice(_BANKS)} 尾号 {r.randrange(10**4):04d} 转账"
        if channel == Channel.ONLINE:
            return f"ONL{day}{r.randrange(10**8):08d}"
        if channel == Channel.OTHER:
            return r.choice(
                [f"美团团购券 {r.randrange(10**12):012d}", "企业代缴（员工福利）", "抖音团购核销"]
            )
        return r.choice(["", "前台现金", "现金，已找零"])

    def _payment(
        self, rule: str, moment: datetime.datetime, order_key: str = "", share: int = 100, channel: str = ""
    ) -> PaymentPlan:
        self.payment_serial += 1
        channel = channel or self._channel()
        return PaymentPlan(
            rule=rule,
            channel=channel,
            reference=self._reference(channel, moment),
            key=f"demo-payment-{self.payment_serial}",
            order_key=order_key,
            share_percent=share,
        )

    def plan_orders(self, plans: list[StudentPlan]) -> None:
        """Enrolment orders with what happens to each, manual orders, and the special cases."""
        # One student leaves the first order unpaid and settles both with one payment at the second.
        together = next(p for p in plans[2:] if len(p.classes) >= 2)
        for plan in plans:
            self._at(plan.registered, partial(self._register, plan))
            moment = plan.registered
            for n, class_index in enumerate(plan.classes):
                moment = self._later(moment, 8, 30) if n == 0 else self._days_later(moment, 0, 40)
                behaviour = self._behaviour(n, full=data.CLASSES[class_index].full)
                if plan.key < 2:  # the portal family owes on both children's enrolments
                    behaviour = "deposit_only" if plan.key == 0 else "unpaid"
                elif plan is together and n < 2:
                    behaviour = "together" if n else "unpaid"
                self._plan_enrolment(plan, class_index, f"e{plan.key}.{n}", n, behaviour, moment)
            fate = {1: "open", 2: "draft", 3: "cancel"}.get(plan.key, "")
            if fate or self.rng.random() < 0.22:
                self._plan_manual_order(plan, moment, fate)
        self._plan_special_cases([p for p in plans[2:] if len(p.classes) == 1])

    def _behaviour(self, n: int, *, full: bool) -> str:
        """What the family does about an enrolment order; a full class keeps every seat."""
        if n > 0 and self.rng.random() < 0.3:
            return "together"
        options = ["paid_now", "paid_later", "deposit", "overpay", "unpaid", "cancel"]
        behaviour = self.rng.choices(options, weights=[38, 17, 15, 5, 22, 3])[0]
        return "paid_now" if full and behaviour == "cancel" else behaviour

    def _plan_enrolment(
        self, plan: StudentPlan, class_index: int, key: str, n: int, behaviour: str, at: datetime.datetime
    ) -> None:
        spec = data.CLASSES[class_index]
        course = next(c for c in data.COURSES if c.key == spec.course)
        hours = Decimal(self.rng.choice([8, 10, 12, 16, 20])) if course.price_model == "per_lesson" else None
        discount: Discount | None = None
        internal = ""
        roll = self.rng.random()
        if plan.sibling_rank > 0 and n == 0:
            discount, internal = Discount(DiscountKind.FIXED, 300 * YUAN), "兄弟姐妹同报优惠 ¥300"
        elif roll < 0.08:
            discount, internal = Discount(DiscountKind.PERCENT, 1000), "早鸟九折"
        elif roll < 0.13:
            discount, internal = Discount(DiscountKind.PERCENT, 500), "老学员续报九五折"
        elif roll < 0.18:
            discount, internal = Discount(DiscountKind.FIXED, 200 * YUAN), "老带新立减 ¥200"
        elif self.rng.random() < 0.15:
            internal = self.rng.choice(_DESK_NOTES)
        paid_at_once = behaviour in {"paid_now", "overpay", "together"}
        online = not paid_at_once and (plan.key < 2 or self.rng.random() < 0.45)
        options: dict[str, Any] = {
            "hours": hours,
            "discount": discount,
            "include_registration": n == 0,
            "on_account": not paid_at_once,
            "online_payable": online,
            "external_notes": self.rng.choice(_ONLINE_NOTES) if online else "",
            "internal_notes": internal,
        }
        self.planned_enrolments[key] = (plan, class_index, behaviour, options)
        self._at(at, partial(self._enrol, plan, class_index, key, options))
        pay_at = self._later(at, 3, 15)
        if behaviour == "paid_now":
            self._plan_pay(plan, pay_at, self._payment("balance", pay_at, key))
        elif behaviour == "overpay":
            self._plan_pay(plan, pay_at, self._payment("round_up", pay_at, key))
        elif behaviour == "together":
            self._plan_pay(plan, pay_at, self._payment("all", pay_at))
        elif behaviour == "paid_later":
            later = self._days_later(at, 1, 30)
            self._plan_pay(plan, later, self._payment("balance", later, key))
        elif behaviour in {"deposit", "deposit_only"}:
            self._plan_pay(plan, pay_at, self._payment("share", pay_at, key, share=self.rng.randint(30, 60)))
            if behaviour == "deposit" and self.rng.random() < 0.5:
                later = self._days_later(pay_at, 5, 35)
                self._plan_pay(plan, later, self._payment("balance", later, key))
        elif behaviour == "cancel":
            self.cancelling.add(key)
            reason = self.rng.choice(_CANCEL_REASONS)
            self._at(self._days_later(at, 1, 4), partial(self._cancel, plan, key, reason))

    def _plan_manual_order(self, plan: StudentPlan, after: datetime.datetime, fate: str = "") -> None:
        """An order for something besides tuition; its fate (open, draft, paid, cancelled) by chance
        unless given, so that every status is there however small the school."""
        description, price, kind = data.EXTRAS[0] if fate == "open" else self.rng.choice(data.EXTRAS)
        at = self._days_later(after, 2, 50)
        key = f"m{plan.key}"
        quantity = (
            Decimal(self.rng.choice([1, 1, 1, 2])) if kind == "other" and price < 20_000 else Decimal(1)
        )
        discount = None
        if not fate and self.rng.random() < 0.15:
            discount = self.rng.choice(
                [Discount(DiscountKind.FIXED, 20 * YUAN), Discount(DiscountKind.PERCENT, 1000)]
            )
        if not fate:
            roll = self.rng.random()
            fate = "draft" if roll < 0.1 else "paid" if roll < 0.5 else "cancel" if roll < 0.6 else "open"
        due = timezone.localdate(at) + datetime.timedelta(days=self.rng.randint(3, 21))
        online = fate == "open" and (plan.key < 2 or self.rng.random() < 0.5)
        options: dict[str, Any] = {
            "lines": [LineDraft(kind=kind, description=description, unit_price=price, quantity=quantity)],
            "discount": discount,
            "due_date": due,
            "issue": fate != "draft",
            "online_payable": online,
            "external_notes": self.rng.choice(_ONLINE_NOTES) if online else "",
            "internal_notes": "待家长确认尺码后开单" if fate == "draft" else "",
        }
        self._at(at, partial(self._manual_order, plan, key, options))
        if fate == "paid":
            pay_at = self._later(at, 2, 20)
            self._plan_pay(plan, pay_at, self._payment("balance", pay_at, key))
        elif fate == "cancel":
            reason = self.rng.choice(_MANUAL_CANCEL_REASONS)
            self._at(self._later(at, 30, 600), partial(self._cancel, plan, key, reason))

    def _plan_pay(self, plan: StudentPlan, at: datetime.datetime, payment: PaymentPlan) -> None:
        self._at(at, partial(self._pay, plan, payment))

    def _plan_special_cases(self, single_class: list[StudentPlan]) -> None:
        """A reversed wrong-channel payment, a reversed duplicate, and credit applied to a later order.

        Each story runs on its own order (workbooks), so it never mixes with the student's others."""
        # Students with one class never pay everything at once, which would settle these orders too.
        wrong, duplicate, wallet = single_class[:3]
        start = self._moment(self.term_start + datetime.timedelta(days=3))
        for plan, rule, channel in (
            (wrong, "balance", Channel.POS),
            (duplicate, "balance", Channel.ALIPAY),
            (wallet, "round_up", Channel.WECHAT_PAY),
        ):
            key = f"x{plan.key}"
            order_at = max(start, plan.registered)
            self._at(order_at, partial(self._workbook_order, plan, key))
            pay_at = self._later(order_at, 5, 10)
            payment = self._payment(rule, pay_at, key, channel=channel)
            self._plan_pay(plan, pay_at, payment)
            if plan is wrong:
                fix_at = self._later(pay_at, 15, 30)
                reason = "渠道登记错误：实为微信支付，已冲正后重新登记"
                self._at(fix_at, partial(self._reverse, payment.key, reason))
                again = self._later(fix_at, 2, 5)
                self._plan_pay(plan, again, self._payment("balance", again, key, channel=Channel.WECHAT_PAY))
            elif plan is duplicate:
                twice = self._later(pay_at, 1, 2)
                copy = dataclasses.replace(
                    self._payment("to_credit", twice, key, channel=Channel.ALIPAY),
                    reference=payment.reference,
                    copies=payment.key,
                )
                self._plan_pay(plan, twice, copy)
                reason = "重复登记：同一笔支付宝收款录入了两次"
                self._at(self._days_later(twice, 1, 2), partial(self._reverse, copy.key, reason))
            else:
                self._at(self._days_later(pay_at, 3, 10), partial(self._books_from_credit, plan))

    # execution -------------------------------------------------------------------------------

    def run(self) -> Organization:
        self.clock.move_to(self.setup_at)
        organization = self._setup()
        self.hours.set_up()
        plans = self.plan_families()
        self.assign_classes(plans)
        self.plan_orders(plans)
        # The portal family's guardian signs up for the portal the day after registering.
        self._at(self._days_later(plans[0].registered, 1, 1), partial(self._portal_login, organization))
        self.hours.plan(plans)
        while self.events:
            moment, _n, action = heapq.heappop(self.events)
            self.clock.move_to(moment)
            action()
        self.clock.move_to(self.latest)
        # Web options → Carts & Checkout: the demo family can pay from the portal, through the
        # simulated gateway where it is allowed (development and demonstrations, never production).
        update_portal_settings(actor=self.staff["principal"], carts_enabled=True, allow_partial=True)
        if simulated_allowed():
            save_gateway_config(actor=self.staff["principal"], active=GatewayKind.SIMULATED)
        return organization

    def _setup(self) -> Organization:
        organization = create_organization(name=data.ORGANIZATION_NAME, slug=data.ORGANIZATION_SLUG)
        for code, name, address in data.CAMPUSES:
            self.campuses[code] = create_campus(
                organization=organization, name=name, code=code, address=address
            )
        self.password = make_password(data.DEMO_PASSWORD)  # hashed once: one demo password for all
        for member in data.STAFF:
            user = User.objects.create(
                username=member.username,
                password=self.password,
                organization=organization,
                role=member.role,
                display_name=member.display_name,
                language=member.language,
            )
            if member.campus:
                user.campuses.set([self.campuses[member.campus]])
            self.staff[member.username] = user
        principal = self.staff["principal"]
        subjects = {
            code: create_subject(actor=principal, code=code, name=name, name_en=name_en)
            for code, name, name_en in data.SUBJECTS
        }
        for spec in data.COURSES:
            self.courses[spec.key] = create_course(
                actor=principal,
                subject=subjects[spec.subject],
                name=spec.name,
                name_en=spec.name_en,
                price_model=spec.price_model,
                lesson_price=spec.lesson_price,
                package_hours=spec.package_hours,
                package_price=spec.package_price,
                gift_hours=spec.gift_hours,
                term_fee=spec.term_fee,
                term_hours=spec.term_hours,
                materials_fee=spec.materials_fee,
                registration_fee=spec.registration_fee,
            )
        for cls in data.CLASSES:
            hour, minute = (int(x) for x in cls.start.split(":"))
            start = datetime.datetime.combine(self.term_start, datetime.time(hour, minute))
            end = (start + datetime.timedelta(minutes=cls.minutes)).time()
            self.class_groups.append(
                create_class(
                    actor=principal,
                    course=self.courses[cls.course],
                    campus=self.campuses[cls.campus],
                    name=cls.name,
                    instructor=self.staff[cls.instructor],
                    head_teacher=self.staff["headteacher" if cls.campus == "haidian" else "headteacher2"],
                    capacity=cls.capacity,
                    start_date=self.term_start + datetime.timedelta(days=min(cls.weekdays)),
                    end_date=self.term_end,
                    schedule=[(day, start.time(), end) for day in cls.weekdays],
                    session_hours=Decimal(cls.minutes) / 60,
                )
            )
        return organization

    def _desk(self, plan: StudentPlan) -> User:
        return self.staff["cashier" if plan.campus == "haidian" else "cashier2"]

    def _register(self, plan: StudentPlan) -> None:
        adviser = self.staff["adviser" if plan.campus == "haidian" else "adviser2"]
        guardians = []
        for name, phone, relation in plan.guardians:
            if phone not in self.guardians:
                self.guardians[phone] = create_guardian(actor=adviser, name=name, phone=phone)
            guardians.append((self.guardians[phone], relation))
        self.students[plan.key] = create_student(
            actor=adviser,
            campus=self.campuses[plan.campus],
            name=plan.name,
            phone=plan.phone,
            birth_date=plan.birth_date,
            school=plan.school,
            guardians=guardians,
            adviser=adviser,
        )

    def _enrol(self, plan: StudentPlan, class_index: int, key: str, options: dict[str, Any]) -> None:
        enrolment, order = enrol_student(
            actor=self._desk(plan),
            student=self.students[plan.key],
            class_group=self.class_groups[class_index],
            **options,
        )
        self.orders[key] = order.pk
        self.enrolments[key] = enrolment.pk

    def _manual_order(self, plan: StudentPlan, key: str, options: dict[str, Any]) -> None:
        order = create_order(actor=self._desk(plan), student=self.students[plan.key], **options)
        self.orders[key] = order.pk

    def _workbook_order(self, plan: StudentPlan, key: str) -> None:
        description, price, kind = data.EXTRAS[2]
        order = create_order(
            actor=self._desk(plan),
            student=self.students[plan.key],
            lines=[LineDraft(kind=kind, description=description, unit_price=price)],
        )
        self.orders[key] = order.pk

    def _cancel(self, plan: StudentPlan, key: str, reason: str) -> None:
        self.cancelling.discard(key)
        order = Order.objects.get(pk=self.orders[key])
        if order.paid == 0:
            cancel_order(actor=self._desk(plan), order=order, reason=reason)

    def _pay(self, plan: StudentPlan, payment: PaymentPlan) -> None:
        student = self.students[plan.key]
        allocations: list[AllocationRequest] | None
        if payment.rule == "all":  # everything owed, oldest due first
            amount, allocations = student_account(student=student).balance_due, None
        elif payment.rule == "to_credit":  # the same money recorded again: it all lands on credit
            amount, allocations = self.payments[payment.copies].amount, []
        else:
            order = Order.objects.get(pk=self.orders[payment.order_key])
            balance = order.balance
            if balance <= 0:
                return  # already paid by a payment for several orders, or cancelled
            if payment.rule == "share":
                hundreds = balance * payment.share_percent // 100 // (100 * YUAN)
                amount = min(max(hundreds, 1) * 100 * YUAN, balance)
            elif payment.rule == "round_up":  # paid with round notes; the change stays as credit
                amount = (balance // (1000 * YUAN) + 1) * 1000 * YUAN
            else:
                amount = balance
            allocations = [AllocationRequest(order_id=order.pk, amount=min(amount, balance))]
        if amount <= 0:
            return
        actor = self.staff["finance"] if payment.channel == Channel.BANK_TRANSFER else self._desk(plan)
        self.payments[payment.key] = record_payment(
            actor=actor,
            student=student,
            amount=amount,
            channel=payment.channel,
            reference=payment.reference,
            received_at=self.clock.now(),
            allocations=allocations,
            idempotency_key=payment.key,
        )

    def _reverse(self, payment_key: str, reason: str) -> None:
        reverse_payment(actor=self.staff["finance"], payment=self.payments[payment_key], reason=reason)

    def _books_from_credit(self, plan: StudentPlan) -> None:
        student = self.students[plan.key]
        description, price, kind = data.EXTRAS[6]
        order = create_order(
            actor=self._desk(plan),
            student=student,
            lines=[LineDraft(kind=kind, description=description, unit_price=price)],
            internal_notes="以学员余额抵扣",
        )
        credit = student_account(student=student).credit
        apply_credit(actor=self._desk(plan), student=student, order=order, amount=min(credit, order.balance))

    def _portal_login(self, organization: Organization) -> None:
        """The guardian of the portal family signs in with their phone number."""
        guardian = self.guardians[data.GUARDIAN_PHONE]
        user = User.objects.create(
            username=data.GUARDIAN_PHONE,
            password=self.password,
            organization=organization,
            display_name=guardian.name,
        )
        Guardian.objects.filter(pk=guardian.pk).update(user=user)
        guardian.user = user


def demo_logins() -> list[tuple[str, str, str]]:
    """(what the login is for, username, password) for the README's table and the command."""
    roles = dict(Role.choices)
    rows = [(str(roles[m.role]), m.username, data.DEMO_PASSWORD) for m in data.STAFF[:6]]
    rows.append((_("Guardian (parent portal)"), data.GUARDIAN_PHONE, data.DEMO_PASSWORD))
    return rows
