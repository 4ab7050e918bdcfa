import pytest

from feedesk.core.errors import NotFound, PermissionDenied
from feedesk.core.permissions import (
    MONEY_CAPABILITIES,
    Capability,
    Role,
    ensure_same_organization,
    has_capability,
    require,
)
from feedesk.users.models import User

MONEY_ROLES = {
    Capability.TAKE_PAYMENT: {Role.PRINCIPAL, Role.FINANCE, Role.CASHIER},
    Capability.APPLY_CREDIT: {Role.PRINCIPAL, Role.FINANCE, Role.CASHIER},
    Capability.ISSUE_ORDER: {Role.PRINCIPAL, Role.FINANCE, Role.CASHIER},
    Capability.CANCEL_ORDER: {Role.PRINCIPAL, Role.FINANCE, Role.CASHIER},
    Capability.ENROL: {Role.PRINCIPAL, Role.FINANCE, Role.CASHIER},
    Capability.REVERSE_PAYMENT: {Role.PRINCIPAL, Role.FINANCE},
    Capability.OVERRIDE_CAPACITY: {Role.PRINCIPAL},
}


@pytest.mark.parametrize("capability", list(MONEY_ROLES))
@pytest.mark.parametrize("role", list(Role))
def test_role_matrix_for_money(school, role, capability):
    user = school.users[role]
    allowed = role in MONEY_ROLES[capability]
    assert has_capability(user, capability) is allowed
    if allowed:
        require(user, capability)
    else:
        with pytest.raises(PermissionDenied):
            require(user, capability)


def test_every_money_capability_is_in_the_matrix():
    assert set(MONEY_CAPABILITIES) <= set(MONEY_ROLES)


def test_inactive_users_and_school_less_superusers_hold_nothing(school):
    school.cashier.is_active = False
    assert not has_capability(school.cashier, Capability.TAKE_PAYMENT)
    root = User.objects.create_superuser("root", password="pw-123456")
    assert not has_capability(root, Capability.VIEW_STUDENTS)


def test_require_checks_the_campus_of_limited_staff(school):
    school.cashier.campuses.set([school.campus2])
    cashier = User.objects.get(pk=school.cashier.pk)
    require(cashier, Capability.TAKE_PAYMENT, campus_id=school.campus2.pk)
    with pytest.raises(PermissionDenied) as caught:
        require(cashier, Capability.TAKE_PAYMENT, campus_id=school.campus.pk)
    assert "campus" in str(caught.value)
    # Unlimited staff reach every campus.
    require(school.finance, Capability.TAKE_PAYMENT, campus_id=school.campus.pk)


def test_another_organizations_object_is_not_found(school, other_school):
    ensure_same_organization(school.cashier, school.klass)
    with pytest.raises(NotFound):
        ensure_same_organization(school.cashier, other_school.klass)
