from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin

from feedesk.audit.services import record_audit
from feedesk.core.errors import ValidationFailed
from feedesk.core.permissions import Capability, require
from feedesk.organizations.models import Campus
from feedesk.organizations.services import next_number
from feedesk.people.models import Guardian, Student, StudentGuardian
from feedesk.users.models import User


def pinyin_keys(name: str) -> tuple[str, str]:
    """("zhangsan", "zs") for 张三; Latin names pass through lower-cased."""
    syllables = [s.lower() for s in lazy_pinyin(name, errors="default") if s.strip()]
    initials = [
        s[0].lower() for s in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default") if s.strip()
    ]
    return "".join(syllables).replace(" ", ""), "".join(initials).replace(" ", "")


def _clean_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if phone and len(digits) < 5:
        raise ValidationFailed(
            _("“%(phone)s” is not a phone number.") % {"phone": phone}, code="phone_invalid"
        )
    return digits


@transaction.atomic
def create_guardian(*, actor: User, name: str, phone: str, email: str = "") -> Guardian:
    require(actor, Capability.MANAGE_STUDENTS)
    if not name.strip():
        raise ValidationFailed(_("Enter the guardian's name."), code="name_required")
    phone = _clean_phone(phone)
    if not phone:
        raise ValidationFailed(_("Enter the guardian's phone number."), code="phone_required")
    assert actor.organization_id is not None
    guardian, _created = Guardian.objects.get_or_create(
        organization_id=actor.organization_id, phone=phone, defaults={"name": name.strip(), "email": email}
    )
    return guardian


@transaction.atomic
def create_student(
    *,
    actor: User,
    campus: Campus,
    name: str,
    phone: str = "",
    birth_date: date | None = None,
    school: str = "",
    guardians: list[tuple[Guardian, str]] | None = None,
    adviser: User | None = None,
    number: str | None = None,
) -> Student:
    """Register a student with their ledger accounts and guardians (sibling guardians are shared)."""
    from feedesk.ledger.services import open_student_accounts

    require(actor, Capability.MANAGE_STUDENTS, campus_id=campus.pk)
    if campus.organization_id != actor.organization_id:
        raise ValidationFailed(_("Unknown campus."), code="campus_unknown")
    name = name.strip()
    if not name:
        raise ValidationFailed(_("Enter the student's name."), code="name_required")
    pinyin, initials = pinyin_keys(name)
    if number is None:
        number = f"S{next_number(organization_id=campus.organization_id, name='student'):06d}"
    student = Student.objects.create(
        organization_id=campus.organization_id,
        campus=campus,
        number=number,
        name=name,
        name_pinyin=pinyin,
        name_initials=initials,
        phone=_clean_phone(phone),
        birth_date=birth_date,
        school=school,
        adviser=adviser,
    )
    for index, (guardian, relation) in enumerate(guardians or []):
        if guardian.organization_id != student.organization_id:
            raise ValidationFailed(_("Unknown guardian."), code="guardian_unknown")
        StudentGuardian.objects.create(
            student=student, guardian=guardian, relation=relation, is_primary=index == 0
        )
    open_student_accounts(student=student)
    record_audit(actor=actor, action="student.created", target=student, data={"name": name})
    return student
