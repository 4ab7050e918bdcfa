"""Request and response shapes. Money is always an int of minor units; hours are decimal strings."""

import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from ninja import Schema
from ninja.params import functions as params
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

T = TypeVar("T")
MAX_PK = 2**63 - 1
MAX_AMOUNT = 10**13


def _clean_text(value: str) -> str:
    # PostgreSQL refuses NUL characters and unpaired surrogates: refuse them here as bad input.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


_Clean = AfterValidator(_clean_text)
Name = Annotated[str, StringConstraints(min_length=1, max_length=100), _Clean]
OptionalName = Annotated[str, StringConstraints(max_length=100), _Clean]
LongName = Annotated[str, StringConstraints(min_length=1, max_length=150), _Clean]
OptionalLongName = Annotated[str, StringConstraints(max_length=150), _Clean]
Phone = Annotated[str, StringConstraints(max_length=20), _Clean]
Code = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[-a-zA-Z0-9_]+$")]
ShortText = Annotated[str, StringConstraints(max_length=100), _Clean]
Description = Annotated[str, StringConstraints(min_length=1, max_length=200), _Clean]
Reason = Annotated[str, StringConstraints(max_length=300), _Clean]
RequiredReason = Annotated[str, StringConstraints(min_length=1, max_length=300), _Clean]
Notes = Annotated[str, StringConstraints(max_length=5000), _Clean]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]

Id = Annotated[int, Field(strict=True, ge=1, le=MAX_PK)]
PathId = Annotated[int, params.Path(ge=1, le=MAX_PK)]
Money = Annotated[int, Field(strict=True, gt=0, le=MAX_AMOUNT, description="minor units (fen)")]
MoneyOrZero = Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT, description="minor units (fen)")]
Hours = Annotated[Decimal, Field(ge=0, le=Decimal("999999.99"), max_digits=8, decimal_places=2)]
PositiveHours = Annotated[Decimal, Field(gt=0, le=Decimal("999999.99"), max_digits=8, decimal_places=2)]
Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("999999.99"), max_digits=8, decimal_places=2)]
Date = Annotated[datetime.date, Field(ge=datetime.date(1900, 1, 1), le=datetime.date(2999, 12, 31))]
# Wall-clock time at the campus, "HH:MM" or "HH:MM:SS" (no offset: a schedule repeats across DST).
LocalTime = Annotated[
    str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", max_length=8)
]
Relation = Literal["mother", "father", "grandparent", "other"]
PriceModelName = Literal["per_lesson", "package", "term"]
ChannelName = Literal["cash", "bank_transfer", "pos", "wechat_pay", "alipay", "online", "credit", "other"]
OrderStatusName = Literal["draft", "open", "partially_paid", "paid", "cancelled"]
AttendanceStatusName = Literal["present", "absent", "leave"]


class ErrorBody(Schema):
    code: str
    message: str
    details: dict[str, Any]


class ErrorOut(Schema):
    error: ErrorBody


class Page(Schema, Generic[T]):
    items: list[T]
    count: int


class Paging(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)


# --- people -------------------------------------------------------------------------------------


class GuardianLinkIn(Schema):
    guardian_id: Id
    relation: Relation = "other"


class StudentIn(Schema):
    campus_id: Id
    name: Name
    phone: Phone = ""
    birth_date: Date | None = None
    school: ShortText = ""
    guardians: list[GuardianLinkIn] = Field(default_factory=list, max_length=20)
    adviser_id: Id | None = None


class StudentPatch(Schema):
    campus_id: Id | None = None
    name: Name | None = None
    phone: Phone | None = None
    birth_date: Date | None = None
    school: ShortText | None = None
    notes: Notes | None = None
    adviser_id: Id | None = None
    is_active: bool | None = None
    guardians: list[GuardianLinkIn] | None = Field(None, max_length=20)


class StudentGuardianOut(Schema):
    id: int
    name: str
    phone: str
    relation: str
    is_primary: bool


class StudentQuery(Schema):
    search: Annotated[str, StringConstraints(max_length=100), _Clean] = ""


class StudentOut(Schema):
    id: int
    number: str
    name: str
    name_pinyin: str
    phone: str
    campus_id: int
    birth_date: datetime.date | None
    school: str
    notes: str
    adviser_id: int | None
    is_active: bool
    guardians: list[StudentGuardianOut]
    created_at: datetime.datetime


class StudentLinkIn(Schema):
    student_id: Id
    relation: Relation = "other"


class GuardianIn(Schema):
    name: Name
    phone: Phone
    email: Email = ""
    students: list[StudentLinkIn] = Field(default_factory=list, max_length=20)


class GuardianPatch(Schema):
    name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None


class GuardianStudentOut(Schema):
    id: int
    number: str
    name: str
    relation: str
    is_primary: bool


class GuardianOut(Schema):
    id: int
    name: str
    phone: str
    email: str
    students: list[GuardianStudentOut]
    created_at: datetime.datetime


# --- catalog ------------------------------------------------------------------------------------


class SubjectIn(Schema):
    code: Code
    name: Name
    name_en: OptionalName = ""


class SubjectOut(Schema):
    id: int
    code: str
    name: str
    name_en: str


class CourseIn(Schema):
    subject_id: Id
    name: LongName
    name_en: OptionalLongName = ""
    price_model: PriceModelName
    lesson_price: MoneyOrZero = 0
    package_hours: Hours = Decimal(0)
    package_price: MoneyOrZero = 0
    gift_hours: Hours = Decimal(0)
    term_fee: MoneyOrZero = 0
    term_hours: Hours = Decimal(0)
    materials_fee: MoneyOrZero = 0
    registration_fee: MoneyOrZero = 0


class CourseOut(Schema):
    id: int
    subject_id: int
    name: str
    name_en: str
    price_model: str
    lesson_price: int
    package_hours: Decimal
    package_price: int
    gift_hours: Decimal
    term_fee: int
    term_hours: Decimal
    materials_fee: int
    registration_fee: int
    currency: str
    is_active: bool


class SlotIn(Schema):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start_time: LocalTime
    end_time: LocalTime


class ClassIn(Schema):
    course_id: Id
    campus_id: Id
    name: LongName
    instructor_id: Id
    head_teacher_id: Id | None = None
    capacity: int = Field(ge=1, le=100_000)
    start_date: Date
    end_date: Date
    session_hours: PositiveHours = Decimal(1)
    schedule: list[SlotIn] = Field(min_length=1, max_length=21)


class SlotOut(Schema):
    weekday: int
    start_time: LocalTime
    end_time: LocalTime


class ClassOut(Schema):
    id: int
    course_id: int
    campus_id: int
    name: str
    instructor_id: int
    head_teacher_id: int | None
    capacity: int
    enrolled: int
    start_date: datetime.date
    end_date: datetime.date
    session_hours: Decimal
    is_active: bool
    schedule: list[SlotOut]


class SessionOut(Schema):
    id: int = Field(description="the `session_id` that `POST /attendance` takes")
    date: datetime.date
    start: datetime.datetime
    end: datetime.datetime
    hours: Decimal = Field(description="hours a present student uses")
    status: Literal["scheduled", "cancelled"]
    kind: Literal["regular", "extra"] = Field(
        description="`regular`: generated from the weekly schedule; `extra`: added by staff"
    )
    instructor_id: int = Field(description="who teaches this session (a substitute, when one was set)")
    original_date: datetime.date | None = Field(description="the date it was moved from, when rescheduled")
    note: str = Field(description="staff's note, e.g. why it was moved or cancelled")
    attendance_taken: bool = Field(description="a roll call has been recorded for this session")
    roll_called_at: datetime.datetime | None = Field(description="the latest roll call or correction")
    student_ids: list[int] = Field(
        description="the students an extra session is held for (a make-up lesson); only they are "
        "marked on it. Empty: the whole class (always, for a regular session)"
    )


class SessionList(Schema):
    class_id: int
    items: list[SessionOut]
    count: int


class SessionRange(Schema):
    from_: Date | None = Field(None, alias="from", description="sessions on or after this date")
    to: Date | None = Field(None, description="sessions on or before this date")


# --- enrolment and orders -----------------------------------------------------------------------


class DiscountIn(Schema):
    kind: Literal["fixed", "percent"]
    value: int = Field(strict=True, ge=0, le=MAX_AMOUNT, description="fen, or basis points for percent")


class EnrolmentIn(Schema):
    student_id: Id
    class_id: Id
    hours: PositiveHours | None = None
    price_override: MoneyOrZero | None = None
    discount: DiscountIn | None = None
    due_date: Date | None = None


class EnrolmentOut(Schema):
    id: int
    student_id: int
    class_id: int
    status: str
    purchased_hours: Decimal
    gift_hours: Decimal
    consumed_hours: Decimal
    remaining_hours: Decimal
    tuition_amount: int
    deferred_amount: int
    recognised_amount: int
    currency: str
    order_id: int | None
    valid_until: datetime.date | None
    created_at: datetime.datetime


class OrderLineIn(Schema):
    kind: Literal["tuition", "materials", "registration", "other"]
    description: Description
    unit_price: MoneyOrZero
    quantity: Quantity = Decimal(1)
    discountable: bool = True


class OrderIn(Schema):
    student_id: Id
    lines: list[OrderLineIn] = Field(min_length=1, max_length=50)
    due_date: Date | None = None
    discount: DiscountIn | None = None
    on_account: bool = True
    online_payable: bool = False
    external_notes: Notes = ""
    internal_notes: Notes = ""


class OrderLineOut(Schema):
    kind: str
    description: str
    quantity: Decimal
    unit_price: int
    gross_amount: int
    discount_amount: int
    net_amount: int


class OrderOut(Schema):
    id: int
    number: int
    student_id: int
    campus_id: int
    kind: str
    status: str
    lines: list[OrderLineOut]
    total: int
    paid: int
    balance: int
    currency: str
    due_date: datetime.date
    on_account: bool
    online_payable: bool
    external_notes: str
    internal_notes: str
    enrolment_id: int | None
    issued_at: datetime.datetime | None
    cancelled_at: datetime.datetime | None
    created_at: datetime.datetime


class EnrolmentCreated(Schema):
    enrolment: EnrolmentOut
    order: OrderOut


class OrderFilter(Schema):
    student_id: int | None = Field(None, ge=1, le=MAX_PK)
    status: OrderStatusName | None = None


class CancelIn(Schema):
    reason: Reason = ""


# --- payments -----------------------------------------------------------------------------------


class AllocationIn(Schema):
    order_id: Id
    amount: Money


class PaymentIn(Schema):
    student_id: Id
    amount: Money
    channel: ChannelName
    reference: ShortText = ""
    received_at: AwareDatetime | None = None
    allocations: list[AllocationIn] | None = Field(None, max_length=100)


class AllocationOut(Schema):
    id: int
    order_id: int
    order_number: int
    amount: int
    reverses_id: int | None
    created_at: datetime.datetime


class PaymentOut(Schema):
    id: int | None = Field(description="null for channel credit: paying from the wallet issues no receipt")
    receipt_number: str | None
    student_id: int
    campus_id: int
    channel: str
    amount: int
    allocated: int
    to_credit: int
    currency: str
    reference: str
    received_at: datetime.datetime
    status: str
    allocations: list[AllocationOut]
    reversed_at: datetime.datetime | None
    reversal_reason: str


class PaymentFilter(Schema):
    student_id: int | None = Field(None, ge=1, le=MAX_PK)


class ReverseIn(Schema):
    reason: RequiredReason


class ApplyCreditIn(Schema):
    order_id: Id
    amount: Money


class CreditAllocationOut(Schema):
    id: int
    student_id: int
    order_id: int
    order_number: int
    amount: int
    currency: str
    created_at: datetime.datetime


# --- attendance ---------------------------------------------------------------------------------


class AttendanceIn(Schema):
    session_id: Id
    student_id: Id
    status: AttendanceStatusName
    reason_code: Code | None = Field(
        None, description="one of the school's absence reasons (GET /absence-reasons); absent or leave only"
    )
    use_makeup_credit: bool = Field(
        False, description="present on a make-up credit: the session uses no hours (present only)"
    )
    allow_overdraw: bool = Field(
        False,
        description="past the remaining hours, bill the shortfall as arrears on a new order "
        "(needs the overdraw_hours capability); otherwise 409 hours_exhausted",
    )


class MakeupCreditOut(Schema):
    id: int
    expires_on: datetime.date
    used: bool
    revoked: bool


class AttendanceOut(Schema):
    id: int
    session_id: int
    student_id: int
    enrolment_id: int
    status: AttendanceStatusName
    reason_code: str | None
    set_by_role: Literal["staff", "student", "guardian"]
    hours: Decimal = Field(description="hours this mark uses: paid_hours + gift_hours")
    paid_hours: Decimal
    gift_hours: Decimal
    recognised_amount: int = Field(description="tuition this mark recognised, minor units (fen)")
    currency: str
    entry_id: int | None = Field(description="the CONSUMPTION entry, when the mark recognised tuition")
    makeup_credit_used: bool
    makeup_credit: MakeupCreditOut | None = Field(description="the make-up credit this absence granted")
    replaces_id: int | None = Field(description="the mark this one corrected")
    recorded_at: datetime.datetime
    remaining_hours: Decimal = Field(description="the enrolment's hours left after this mark")
    arrears_order_id: int | None = Field(
        None,
        description="the order billing hours used beyond the package (`allow_overdraw`), if one was issued",
    )
    arrears_order_number: int | None = None


class AbsenceReasonFilter(Schema):
    for_students: bool = Field(False, description="only the reasons students and guardians may choose")
    include_inactive: bool = False


class AbsenceReasonOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    usable_by_students: bool
    rule: Literal["deduct", "no_deduct", "deduct_makeup"]
    makeup_valid_days: int
    is_active: bool


# --- balances and ledger ------------------------------------------------------------------------


class AccountEnrolmentOut(Schema):
    id: int
    class_id: int
    status: str
    remaining_hours: Decimal


class StudentAccountOut(Schema):
    student_id: int
    balance_due: int
    overdue: int
    credit: int
    currency: str
    enrolments: list[AccountEnrolmentOut]


class StatementRange(Schema):
    from_: Date | None = Field(None, alias="from")
    to: Date | None = None


class StatementLineOut(Schema):
    entry_id: int
    seq: int
    code: str
    effective_date: datetime.date
    memo: str
    charge: int
    payment: int
    moved: int
    running_balance: int


class StatementOut(Schema):
    student_id: int
    currency: str
    opening_balance: int
    closing_balance: int
    lines: list[StatementLineOut]


class TrialBalanceQuery(Schema):
    as_of: Date | None = None


class TrialBalanceRowOut(Schema):
    code: str
    name: str
    debits: int
    credits: int
    balance: int


class TrialBalanceOut(Schema):
    accounts: list[TrialBalanceRowOut]
    total_debits: int
    total_credits: int
    currency: str


class VerifyOut(Schema):
    ok: bool
    entries_checked: int
    accounts_checked: int
    problems: list[dict[str, Any]]
