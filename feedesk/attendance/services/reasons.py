"""The school's attendance settings, absence-reason code table and closed dates."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from feedesk.attendance.models import AbsenceReason, AttendanceSettings, ClosedDate
from feedesk.audit.services import record_audit
from feedesk.core.errors import NotFound, ValidationFailed
from feedesk.core.permissions import Capability, ensure_same_organization, require
from feedesk.organizations.models import Campus
from feedesk.users.models import User


def settings_for(organization_id: int) -> AttendanceSettings:
    found = AttendanceSettings.objects.filter(organization_id=organization_id).first()
    if found is not None:
        return found
    settings, _created = AttendanceSettings.objects.get_or_create(organization_id=organization_id)
    return settings


@transaction.atomic
def update_settings(
    *,
    actor: User,
    gift_hours_first: bool | None = None,
    renewal_threshold_hours: Decimal | None = None,
    renewal_days_before_expiry: int | None = None,
    student_cutoff_minutes: int | None = None,
    roll_call_early_minutes: int | None = None,
) -> AttendanceSettings:
    require(actor, Capability.MANAGE_CATALOG)
    settings = settings_for(actor.tenant_id)
    changes: dict[str, object] = {}
    if gift_hours_first is not None:
        changes["gift_hours_first"] = gift_hours_first
    if renewal_threshold_hours is not None:
        if renewal_threshold_hours < 0:
            raise ValidationFailed(_("Hours cannot be negative."), code="hours_invalid")
        changes["renewal_threshold_hours"] = renewal_threshold_hours
    for name, value in (
        ("renewal_days_before_expiry", renewal_days_before_expiry),
        ("student_cutoff_minutes", student_cutoff_minutes),
        ("roll_call_early_minutes", roll_call_early_minutes),
    ):
        if value is not None:
            if value < 0:
                raise ValidationFailed(_("Enter a number of zero or more."), code="setting_invalid")
            changes[name] = value
    if changes:
        AttendanceSettings.objects.filter(pk=settings.pk).update(**changes)
        record_audit(
            actor=actor,
            action="attendance.settings_updated",
            target=settings,
            data={k: str(v) for k, v in changes.items()},
        )
        settings.refresh_from_db()
    return settings


@transaction.atomic
def save_absence_reason(
    *,
    actor: User,
    code: str,
    name: str,
    name_en: str,
    rule: str,
    usable_by_students: bool = False,
    makeup_valid_days: int = 0,
    is_active: bool = True,
) -> AbsenceReason:
    """Create the reason with this code, or change it. Marks already taken keep their hours."""
    require(actor, Capability.MANAGE_CATALOG)
    code = code.strip().lower()
    if not code or not name.strip() or not name_en.strip():
        raise ValidationFailed(
            _("An absence reason needs a code and a name in both languages."), code="reason_invalid"
        )
    if rule not in AbsenceReason.Rule.values:
        raise ValidationFailed(_("Unknown absence rule."), code="reason_rule_invalid")
    if rule == AbsenceReason.Rule.DEDUCT_MAKEUP and makeup_valid_days <= 0:
        raise ValidationFailed(
            _("Say for how many days the make-up credit is valid."), code="reason_makeup_days_required"
        )
    values = {
        "name": name.strip(),
        "name_en": name_en.strip(),
        "rule": rule,
        "usable_by_students": usable_by_students,
        "makeup_valid_days": makeup_valid_days if rule == AbsenceReason.Rule.DEDUCT_MAKEUP else 0,
        "is_active": is_active,
    }
    reason, created = AbsenceReason.objects.update_or_create(
        organization_id=actor.tenant_id, code=code, defaults=values
    )
    record_audit(
        actor=actor,
        action="absence_reason.created" if created else "absence_reason.updated",
        target=reason,
        data={"code": code, **{k: str(v) for k, v in values.items()}},
    )
    return reason


DEFAULT_REASONS = [
    # code, 中文, English, rule, usable by students, make-up days
    ("sick", "病假", "Sick leave", AbsenceReason.Rule.NO_DEDUCT, False, 0),
    ("personal", "事假", "Personal leave", AbsenceReason.Rule.DEDUCT_MAKEUP, True, 30),
    ("no_show", "旷课", "Absent without notice", AbsenceReason.Rule.DEDUCT, False, 0),
    ("school_event", "学校活动", "School event", AbsenceReason.Rule.NO_DEDUCT, True, 0),
]


@transaction.atomic
def install_default_reasons(*, actor: User) -> list[AbsenceReason]:
    """Add the usual codes a school starts from; existing codes are left as the school set them."""
    require(actor, Capability.MANAGE_CATALOG)
    added = []
    for code, name, name_en, rule, students, days in DEFAULT_REASONS:
        if not AbsenceReason.objects.filter(organization_id=actor.tenant_id, code=code).exists():
            added.append(
                save_absence_reason(
                    actor=actor,
                    code=code,
                    name=name,
                    name_en=name_en,
                    rule=rule,
                    usable_by_students=students,
                    makeup_valid_days=days,
                )
            )
    return added


@transaction.atomic
def add_closed_date(
    *, actor: User, date: datetime.date, reason: str = "", campus: Campus | None = None
) -> ClosedDate:
    """Close the school (or one campus) on a date. Sessions already generated are not touched:
    staff cancel those, so nobody's hours change without a person deciding it."""
    require(actor, Capability.MANAGE_SESSIONS, campus_id=campus.pk if campus else None)
    if campus is not None:
        ensure_same_organization(actor, campus)
    closed = ClosedDate.objects.create(
        organization_id=actor.tenant_id, campus=campus, date=date, reason=reason.strip()[:200]
    )
    record_audit(actor=actor, action="closed_date.added", target=closed, data={"date": date.isoformat()})
    return closed


@transaction.atomic
def remove_closed_date(*, actor: User, closed: ClosedDate) -> None:
    require(actor, Capability.MANAGE_SESSIONS, campus_id=closed.campus_id)
    ensure_same_organization(actor, closed)
    if not ClosedDate.objects.filter(pk=closed.pk).exists():
        raise NotFound(_("Not found."))
    record_audit(
        actor=actor, action="closed_date.removed", target=closed, data={"date": closed.date.isoformat()}
    )
    ClosedDate.objects.filter(pk=closed.pk).delete()
