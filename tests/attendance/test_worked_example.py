"""A package written out in numbers: 48 paid hours + 4 gift hours for ¥5,760.00.

Unit price of a paid hour: 576,000 fen / 48 = 12,000 fen (¥120.00). Gift hours earn nothing.

| step                                   | consumed | remaining | deferred   | recognised |
|----------------------------------------|----------|-----------|------------|------------|
| enrolled, order issued                 | 0        | 52        | ¥5,760.00  | ¥0.00      |
| 10 sessions present                    | 10       | 42        | ¥4,560.00  | ¥1,200.00  |
| 2 sessions on staff-set sick leave     | 10       | 42        | ¥4,560.00  | ¥1,200.00  |
| 20 more sessions present (30 attended) | 30       | 22        | ¥2,160.00  | ¥3,600.00  |
| 18 more: the last paid hour            | 48       | 4         | ¥0.00      | ¥5,760.00  |
| 4 more: the gift hours                 | 52       | 0         | ¥0.00      | ¥5,760.00  |
| one more: refused, nothing changes     | 52       | 0         | ¥0.00      | ¥5,760.00  |
"""

from decimal import Decimal

import pytest

from feedesk.attendance.selectors import hours_position
from feedesk.attendance.services import Mark, take_roll_call
from feedesk.core.errors import Conflict
from feedesk.ledger.models import Account, AccountRole
from feedesk.ledger.selectors import verify_ledger


def test_worked_example(school, hours):
    student, enrolment, order = hours.enrol()
    revenue = Account.objects.get(role=AccountRole.TUITION_REVENUE, subject=school.subject)

    def attend(n, status="present", reason=None):
        for _ in range(n):
            take_roll_call(
                actor=school.instructor, session=hours.session(), marks=[Mark(student.pk, status, reason)]
            )

    def check(consumed, remaining, deferred, recognised):
        enrolment.refresh_from_db()
        position = hours_position(enrolment)
        assert position.consumed_hours == Decimal(consumed)
        assert position.remaining_hours == Decimal(remaining)
        assert position.purchased_hours + position.gift_hours - position.consumed_hours == Decimal(remaining)
        assert position.deferred_amount == deferred
        assert position.recognised_amount == recognised
        revenue.refresh_from_db()
        assert revenue.balance == recognised

    assert order.total == 576_000 + 12_000  # tuition and materials
    check(0, 52, 576_000, 0)
    attend(10)
    check(10, 42, 456_000, 120_000)
    attend(2, "leave", "sick")
    check(10, 42, 456_000, 120_000)
    attend(20)
    check(30, 22, 216_000, 360_000)
    assert (enrolment.paid_consumed_hours, enrolment.gift_consumed_hours) == (30, 0)
    attend(18)
    check(48, 4, 0, 576_000)
    attend(4)
    check(52, 0, 0, 576_000)
    assert (enrolment.paid_consumed_hours, enrolment.gift_consumed_hours) == (48, 4)
    with pytest.raises(Conflict) as refused:
        attend(1)
    assert refused.value.code == "hours_exhausted"
    check(52, 0, 0, 576_000)
    report = verify_ledger()
    assert report.ok, report.problems
