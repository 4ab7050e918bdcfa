"""Sessions (课节), roll call (点名) and the school's attendance rules.

An attendance mark is never edited: a correction writes a new mark, retires the old one and
re-posts the difference in the ledger (a reversal entry, then a new consumption entry).
"""

from decimal import Decimal

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class AttendanceSettings(models.Model):
    """One row per school; `settings_for()` creates it with the defaults on first use."""

    organization = models.OneToOneField(
        "organizations.Organization", on_delete=models.PROTECT, related_name="attendance_settings"
    )
    gift_hours_first = models.BooleanField(
        _("use gift hours before paid hours"),
        default=False,
        help_text=_("By default paid hours are used first, so tuition is recognised as early as possible."),
    )
    renewal_threshold_hours = models.DecimalField(
        _("renewal warning at or below (hours)"), max_digits=6, decimal_places=2, default=Decimal(4)
    )
    renewal_days_before_expiry = models.PositiveSmallIntegerField(
        _("renewal warning days before expiry"), default=14
    )
    student_cutoff_minutes = models.PositiveIntegerField(
        _("students and guardians may report an absence until (minutes before start)"), default=120
    )
    roll_call_early_minutes = models.PositiveIntegerField(
        _("roll call may be taken from (minutes before start)"), default=30
    )

    class Meta:
        verbose_name = _("attendance settings")
        verbose_name_plural = _("attendance settings")

    def __str__(self) -> str:
        return f"attendance settings {self.organization_id}"


class ClosedDate(models.Model):
    """A day the school is closed (its own, beyond the public holidays); optionally one campus."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, db_index=False)
    campus = models.ForeignKey(
        "organizations.Campus", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("campus")
    )
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("closed date")
        verbose_name_plural = _("closed dates")
        ordering = ["date"]
        indexes = [models.Index(fields=["organization", "date"])]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}"


class Session(models.Model):
    """One dated occurrence of a class."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")

    class Kind(models.TextChoices):
        REGULAR = "regular", _("Regular")
        EXTRA = "extra", _("Extra")

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, db_index=False)
    class_group = models.ForeignKey(
        "catalog.ClassGroup",
        on_delete=models.PROTECT,
        related_name="sessions",
        verbose_name=_("class"),
        db_index=False,
    )
    date = models.DateField(_("date"))
    start_time = models.TimeField(_("starts"))
    end_time = models.TimeField(_("ends"))
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=2)
    instructor = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("instructor")
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.REGULAR)
    # "YYYY-MM-DD@slot" for generated sessions: generating again never duplicates one, even
    # after it was rescheduled or cancelled. Empty for extra sessions.
    origin = models.CharField(max_length=40, blank=True)
    original_date = models.DateField(_("originally on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    # An extra session (a make-up lesson) may be held for some of the class's students only;
    # none named means the whole class. Regular sessions never name students.
    students = models.ManyToManyField(
        "people.Student",
        blank=True,
        related_name="+",
        verbose_name=_("for students"),
        help_text=_("Leave empty for the whole class."),
    )
    roll_call_entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    roll_called_at = models.DateTimeField(null=True, blank=True)
    # Roll calls and corrections taken so far; part of their entries' idempotency keys.
    roll_call_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["date", "start_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["class_group", "origin"],
                condition=~models.Q(origin=""),
                name="session_origin_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")), name="session_ends_after_start"
            ),
            models.CheckConstraint(condition=models.Q(hours__gt=0), name="session_hours_positive"),
        ]
        indexes = [
            models.Index(fields=["organization", "date"]),
            models.Index(fields=["class_group", "date"]),
        ]

    def __str__(self) -> str:
        return f"{self.class_group_id} {self.date} {self.start_time:%H:%M}"


class AbsenceReason(models.Model):
    """A school's absence-reason code and what it does to the hours."""

    class Rule(models.TextChoices):
        DEDUCT = "deduct", _("Deduct the hours")
        NO_DEDUCT = "no_deduct", _("Do not deduct")
        DEDUCT_MAKEUP = "deduct_makeup", _("Deduct and grant a make-up credit")

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, db_index=False)
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    usable_by_students = models.BooleanField(_("students and guardians may choose it"), default=False)
    rule = models.CharField(_("rule"), max_length=16, choices=Rule.choices, default=Rule.DEDUCT)
    makeup_valid_days = models.PositiveSmallIntegerField(_("make-up credit valid for (days)"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("absence reason")
        verbose_name_plural = _("absence reasons")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="absence_reason_code_unique")
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        language = get_language() or ""
        return self.name_en if language.startswith("en") and self.name_en else self.name

    @property
    def deducts(self) -> bool:
        return self.rule != self.Rule.NO_DEDUCT


class Attendance(models.Model):
    """A student's mark for a session. `is_current` is False once a correction replaced it."""

    class Status(models.TextChoices):
        PRESENT = "present", _("Present")
        ABSENT = "absent", _("Absent")
        LEAVE = "leave", _("Leave")

    class SetBy(models.TextChoices):
        STAFF = "staff", _("Staff")
        STUDENT = "student", _("Student")
        GUARDIAN = "guardian", _("Guardian")

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT)
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="marks")
    enrolment = models.ForeignKey(
        "enrolment.Enrolment", on_delete=models.PROTECT, related_name="marks", db_index=False
    )
    student = models.ForeignKey("people.Student", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    reason = models.ForeignKey(
        AbsenceReason, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("reason")
    )
    set_by_role = models.CharField(max_length=10, choices=SetBy.choices, default=SetBy.STAFF)
    set_by = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_hours = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal(0))
    gift_hours = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal(0))
    makeup_credit_used = models.BooleanField(default=False)
    amount = models.BigIntegerField(default=0, help_text="Tuition recognised by this mark (fen).")
    entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attendance mark")
        verbose_name_plural = _("attendance marks")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "student"], condition=models.Q(is_current=True), name="one_current_mark"
            )
        ]
        indexes = [models.Index(fields=["enrolment", "is_current"])]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.student_id} {self.status}"

    @property
    def hours(self) -> Decimal:
        return self.paid_hours + self.gift_hours


class MakeupCredit(models.Model):
    """A make-up lesson owed to a student by a deduct-and-make-up absence; used or expired."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT)
    enrolment = models.ForeignKey("enrolment.Enrolment", on_delete=models.PROTECT, related_name="makeups")
    granted_by = models.OneToOneField(Attendance, on_delete=models.PROTECT, related_name="makeup_granted")
    expires_on = models.DateField(_("expires on"))
    used_by = models.OneToOneField(
        Attendance, on_delete=models.PROTECT, null=True, blank=True, related_name="makeup_used"
    )
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("make-up credit")
        verbose_name_plural = _("make-up credits")

    def __str__(self) -> str:
        return f"make-up E{self.enrolment_id} until {self.expires_on}"
