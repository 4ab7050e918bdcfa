from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin

from feedesk.audit.services import record_audit
from feedesk.core.errors import Conflict, ValidationFailed
from feedesk.core.permissions import Capability, ensure_same_organization, require
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


class _Unset:
    """Marks an argument the caller did not give, so None can mean “clear it”."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


def _ensure_guardians(student: Student, guardians: list[tuple[Guardian, str]]) -> None:
    for guardian, relation in guardians:
        if guardian.organization_id != student.organization_id:
            raise ValidationFailed(_("Unknown guardian."), code="guardian_unknown")
        if relation not in StudentGuardian.Relation.values:
            raise ValidationFailed(_("Unknown relation."), code="relation_invalid")


@transaction.atomic
def update_student(
    *,
    actor: User,
    student: Student,
    name: str | None = None,
    phone: str | None = None,
    campus: Campus | None = None,
    birth_date: date | _Unset | None = UNSET,
    school: str | None = None,
    notes: str | None = None,
    adviser: User | _Unset | None = UNSET,
    is_active: bool | None = None,
    guardians: list[tuple[Guardian, str]] | None = None,
) -> Student:
    """Change a student's details; `guardians`, when given, replaces the list (the first is primary)."""
    require(actor, Capability.MANAGE_STUDENTS, campus_id=student.campus_id)
    ensure_same_organization(actor, student)
    student = Student.objects.select_for_update().get(pk=student.pk)
    changes: dict[str, object] = {}
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationFailed(_("Enter the student's name."), code="name_required")
        student.name = name
        student.name_pinyin, student.name_initials = pinyin_keys(name)
        changes["name"] = name
    if phone is not None:
        student.phone = _clean_phone(phone)
        changes["phone"] = student.phone
    if campus is not None and campus.pk != student.campus_id:
        if campus.organization_id != actor.organization_id:
            raise ValidationFailed(_("Unknown campus."), code="campus_unknown")
        require(actor, Capability.MANAGE_STUDENTS, campus_id=campus.pk)
        student.campus = campus
        changes["campus"] = campus.pk
    if not isinstance(birth_date, _Unset):
        student.birth_date = birth_date
        changes["birth_date"] = str(birth_date)
    if school is not None:
        student.school = school.strip()
        changes["school"] = student.school
    if notes is not None:
        student.notes = notes
        changes["notes"] = True
    if not isinstance(adviser, _Unset):
        if adviser is not None and adviser.organization_id != student.organization_id:
            raise ValidationFailed(_("Unknown adviser."), code="adviser_unknown")
        student.adviser = adviser
        changes["adviser"] = adviser.pk if adviser else None
    if is_active is not None:
        student.is_active = is_active
        changes["is_active"] = is_active
    student.save()
    if guardians is not None:
        _ensure_guardians(student, guardians)
        if len({g.pk for g, _relation in guardians}) != len(guardians):
            raise ValidationFailed(_("A guardian appears twice."), code="guardian_duplicate")
        StudentGuardian.objects.filter(student=student).delete()
        for index, (guardian, relation) in enumerate(guardians):
            StudentGuardian.objects.create(
                student=student, guardian=guardian, relation=relation, is_primary=index == 0
            )
        changes["guardians"] = [g.pk for g, _relation in guardians]
    if changes:
        record_audit(actor=actor, action="student.updated", target=student, data=changes)
    return student


@transaction.atomic
def update_guardian(
    *,
    actor: User,
    guardian: Guardian,
    name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> Guardian:
    require(actor, Capability.MANAGE_STUDENTS)
    ensure_same_organization(actor, guardian)
    guardian = Guardian.objects.select_for_update().get(pk=guardian.pk)
    changes: dict[str, object] = {}
    if name is not None:
        if not name.strip():
            raise ValidationFailed(_("Enter the guardian's name."), code="name_required")
        guardian.name = name.strip()
        changes["name"] = guardian.name
    if phone is not None:
        cleaned = _clean_phone(phone)
        if not cleaned:
            raise ValidationFailed(_("Enter the guardian's phone number."), code="phone_required")
        taken = (
            Guardian.objects.filter(organization_id=guardian.organization_id, phone=cleaned)
            .exclude(pk=guardian.pk)
            .exists()
        )
        if taken:
            raise Conflict(
                _("Another guardian already has the phone number %(phone)s.") % {"phone": cleaned},
                code="guardian_phone_taken",
            )
        guardian.phone = cleaned
        changes["phone"] = cleaned
    if email is not None:
        guardian.email = email.strip()
        changes["email"] = guardian.email
    guardian.save()
    if changes:
        record_audit(actor=actor, action="guardian.updated", target=guardian, data=changes)
    return guardian


@transaction.atomic
def link_guardian(*, actor: User, guardian: Guardian, student: Student, relation: str) -> StudentGuardian:
    """Record that `guardian` pays for `student` (the student's first guardian becomes primary)."""
    require(actor, Capability.MANAGE_STUDENTS, campus_id=student.campus_id)
    ensure_same_organization(actor, guardian)
    ensure_same_organization(actor, student)
    _ensure_guardians(student, [(guardian, relation)])
    link, created = StudentGuardian.objects.get_or_create(
        student=student,
        guardian=guardian,
        defaults={
            "relation": relation,
            "is_primary": not StudentGuardian.objects.filter(student=student).exists(),
        },
    )
    if not created and link.relation != relation:
        link.relation = relation
        link.save(update_fields=["relation"])
    record_audit(
        actor=actor,
        action="guardian.linked",
        target=student,
        data={"guardian": guardian.pk, "relation": relation},
    )
    return link
