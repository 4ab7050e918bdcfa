from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _


class Subject(models.Model):
    """Maths, Piano, English… revenue is reported per subject."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, db_index=False)
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("subject")
        verbose_name_plural = _("subjects")
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="subject_code_unique")]

    def __str__(self) -> str:
        return self.name


class PriceModel(models.TextChoices):
    PER_LESSON = "per_lesson", _("Per lesson")
    PACKAGE = "package", _("Package of hours")
    TERM = "term", _("Term fee")


class Course(models.Model):
    """A sellable offer. Amounts are in fen."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT)
    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, related_name="courses", verbose_name=_("subject")
    )
    name = models.CharField(_("name"), max_length=150)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    price_model = models.CharField(_("price model"), max_length=20, choices=PriceModel.choices)
    lesson_price = models.BigIntegerField(_("price per lesson (fen)"), default=0)
    package_hours = models.DecimalField(
        _("hours in the package"), max_digits=8, decimal_places=2, default=Decimal(0)
    )
    package_price = models.BigIntegerField(_("package price (fen)"), default=0)
    gift_hours = models.DecimalField(_("gift hours"), max_digits=8, decimal_places=2, default=Decimal(0))
    term_fee = models.BigIntegerField(_("term fee (fen)"), default=0)
    term_hours = models.DecimalField(
        _("hours in the term"), max_digits=8, decimal_places=2, default=Decimal(0)
    )
    materials_fee = models.BigIntegerField(_("materials fee (fen)"), default=0)
    registration_fee = models.BigIntegerField(_("registration fee (fen)"), default=0)
    # When set, hours left unused after an enrolment's validity date are recognised as revenue.
    expiry_applies = models.BooleanField(_("unused hours expire"), default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    lesson_price__gte=0,
                    package_price__gte=0,
                    term_fee__gte=0,
                    materials_fee__gte=0,
                    registration_fee__gte=0,
                ),
                name="course_prices_not_negative",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ClassGroup(models.Model):
    """A class (班级): a group with an instructor, a campus, a capacity and a weekly schedule."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT)
    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="classes", verbose_name=_("course")
    )
    campus = models.ForeignKey("organizations.Campus", on_delete=models.PROTECT, verbose_name=_("campus"))
    name = models.CharField(_("name"), max_length=150)
    instructor = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, related_name="taught_classes", verbose_name=_("instructor")
    )
    head_teacher = models.ForeignKey(
        "users.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="followed_classes",
        verbose_name=_("head teacher"),
    )
    capacity = models.PositiveIntegerField(_("capacity"))
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    session_hours = models.DecimalField(
        _("hours per session"), max_digits=5, decimal_places=2, default=Decimal(1)
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "catalog_class"
        verbose_name = _("class")
        verbose_name_plural = _("classes")

    def __str__(self) -> str:
        return self.name


class ScheduleSlot(models.Model):
    """One weekly meeting of a class, e.g. Saturday 09:00–10:30."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    class_group = models.ForeignKey(ClassGroup, on_delete=models.CASCADE, related_name="schedule")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("starts"))
    end_time = models.TimeField(_("ends"))

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")), name="slot_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"
