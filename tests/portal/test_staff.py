"""Staff side: Web options → Carts & Checkout, and invitations from the student page."""

from django.test import Client

from feedesk.people.models import Guardian
from feedesk.portal.models import AccessCode
from feedesk.portal.selectors import portal_settings


def staff_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_principal_switches_carts_and_checkout(school):
    client = staff_client(school.principal)
    page = client.get("/portal/staff/web-options/carts/").content.decode()
    assert "Carts & Checkout" in page and "Allow partial amounts" in page
    client.post("/portal/staff/web-options/carts/", {"carts_enabled": "on", "allow_partial": "on"})
    options = portal_settings(school.org.pk)
    assert options.carts_enabled and options.allow_partial
    client.post("/portal/staff/web-options/carts/", {})
    options.refresh_from_db()
    assert not options.carts_enabled and not options.allow_partial
    assert "Web options" in client.get("/").content.decode()


def test_finance_may_and_cashier_may_not(school):
    assert staff_client(school.finance).get("/portal/staff/web-options/carts/").status_code == 200
    cashier = staff_client(school.cashier)
    assert cashier.get("/portal/staff/web-options/carts/").status_code == 404
    cashier.post("/portal/staff/web-options/carts/", {"carts_enabled": "on"})
    assert not portal_settings(school.org.pk).carts_enabled


def test_invite_from_the_student_page(school):
    student = school.student()
    client = staff_client(school.cashier)
    page = client.get(f"/students/{student.pk}/").content.decode()
    assert f"/portal/staff/guardians/{school.guardian.pk}/invite/" in page
    response = client.post(f"/portal/staff/guardians/{school.guardian.pk}/invite/")
    assert response.status_code == 200
    guardian = Guardian.objects.get(pk=school.guardian.pk)
    assert guardian.user is not None and guardian.user.role == ""
    assert not guardian.user.has_usable_password()
    code = AccessCode.objects.get(user=guardian.user, used_at__isnull=True)
    assert code.purpose == "invite"
    assert "13800000001" in response.content.decode()


def test_invitations_need_the_role_and_the_school(school, other_school):
    instructor = staff_client(school.instructor)
    assert instructor.post(f"/portal/staff/guardians/{school.guardian.pk}/invite/").status_code == 302
    assert Guardian.objects.get(pk=school.guardian.pk).user is None
    outsider = staff_client(other_school.principal)
    assert outsider.post(f"/portal/staff/guardians/{school.guardian.pk}/invite/").status_code == 404
