"""Every money service asks for its capability, hides other organizations and respects campuses."""

import pytest
from moneycheck import nothing_written

from feedesk.billing.models import OrderLine
from feedesk.billing.services import LineDraft, cancel_order, create_order, issue_order, update_order_flags
from feedesk.core.errors import NotFound, PermissionDenied
from feedesk.core.permissions import Role
from feedesk.enrolment.services import enrol_student
from feedesk.payments.services import apply_credit, record_payment, reverse_payment
from feedesk.users.models import User

DESK = {Role.PRINCIPAL, Role.FINANCE, Role.CASHIER}
BACK_OFFICE = {Role.PRINCIPAL, Role.FINANCE}


def lines():
    return [LineDraft(kind=OrderLine.Kind.OTHER, description="杂费", unit_price=30_000)]


def prepare_enrol(school):
    student = school.student(name="待报名")
    return lambda actor: enrol_student(actor=actor, student=student, class_group=school.klass)


def prepare_create_order(school):
    student = school.student()
    return lambda actor: create_order(actor=actor, student=student, lines=lines())


def prepare_issue(school):
    draft = create_order(actor=school.cashier, student=school.student(), lines=lines(), issue=False)
    return lambda actor: issue_order(actor=actor, order=draft)


def prepare_cancel(school):
    order = create_order(actor=school.cashier, student=school.student(), lines=lines())
    return lambda actor: cancel_order(actor=actor, order=order, reason="x")


def prepare_record_payment(school):
    student = school.student()
    create_order(actor=school.cashier, student=student, lines=lines())
    return lambda actor: record_payment(actor=actor, student=student, amount=10_000, channel="cash")


def prepare_apply_credit(school):
    student = school.student()
    order = create_order(actor=school.cashier, student=student, lines=lines())
    record_payment(actor=school.cashier, student=student, amount=10_000, channel="cash", allocations=[])
    return lambda actor: apply_credit(actor=actor, student=student, order=order, amount=10_000)


def prepare_reverse(school):
    student = school.student()
    create_order(actor=school.cashier, student=student, lines=lines())
    payment = record_payment(actor=school.cashier, student=student, amount=40_000, channel="cash")
    return lambda actor: reverse_payment(actor=actor, payment=payment, reason="wrong student")


def prepare_update_flags(school):
    order = create_order(actor=school.cashier, student=school.student(), lines=lines())
    return lambda actor: update_order_flags(actor=actor, order=order, online_payable=True)


OPERATIONS = {
    "enrol": (prepare_enrol, DESK),
    "create_order": (prepare_create_order, DESK),
    "issue_order": (prepare_issue, DESK),
    "cancel_order": (prepare_cancel, DESK),
    "record_payment": (prepare_record_payment, DESK),
    "apply_credit": (prepare_apply_credit, DESK),
    "reverse_payment": (prepare_reverse, BACK_OFFICE),
    "update_order_flags": (prepare_update_flags, DESK),
}


def limited_to(user, campus):
    user.campuses.set([campus])
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_role_matrix(school, operation, role):
    prepare, allowed = OPERATIONS[operation]
    run = prepare(school)
    actor = school.users[role]
    if role in allowed:
        run(actor)
    else:
        with nothing_written(), pytest.raises(PermissionDenied) as caught:
            run(actor)
        assert "role does not allow" in str(caught.value)


@pytest.mark.parametrize("limited", [False, True], ids=["unlimited", "campus-limited"])
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_another_organizations_objects_are_not_found(school, other_school, operation, limited):
    prepare, _allowed = OPERATIONS[operation]
    run = prepare(school)
    intruder = other_school.principal
    if limited:
        intruder = limited_to(intruder, other_school.campus)
    with nothing_written(), pytest.raises(NotFound):
        run(intruder)


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_campus_limited_staff_are_refused_on_another_campus(school, operation):
    prepare, _allowed = OPERATIONS[operation]
    run = prepare(school)
    actor = limited_to(school.finance, school.campus2)
    with nothing_written(), pytest.raises(PermissionDenied) as caught:
        run(actor)
    assert "campus" in str(caught.value)
    # The same person assigned to the right campus may.
    run(limited_to(school.finance, school.campus))
