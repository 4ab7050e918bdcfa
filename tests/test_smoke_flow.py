from feedesk.billing.models import OrderStatus
from feedesk.enrolment.services import enrol_student
from feedesk.ledger.selectors import verify_ledger
from feedesk.payments.selectors import student_account
from feedesk.payments.services import record_payment, reverse_payment


def test_enrol_pay_reverse_keeps_ledger_consistent(school):
    student = school.student()
    _enrolment, order = enrol_student(actor=school.cashier, student=student, class_group=school.klass)
    assert order.status == OrderStatus.OPEN
    assert order.total == 576_000 + 12_000
    payment = record_payment(actor=school.cashier, student=student, amount=600_000, channel="cash")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    account = student_account(student=student)
    assert (account.balance_due, account.credit) == (0, 12_000)
    reverse_payment(actor=school.finance, payment=payment, reason="recorded for the wrong student")
    order.refresh_from_db()
    assert (order.paid, order.status) == (0, OrderStatus.OPEN)
    report = verify_ledger()
    assert report.ok, report.problems
    assert report.entries_checked == 5
