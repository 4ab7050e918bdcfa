from django.db import models
from django.utils.translation import gettext_lazy as _


class Guardian(models.Model):
    """A parent or other adult who pays for one or more students."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, db_index=False)
    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=20)
    email = models.EmailField(_("email"), blank=True)
    user = models.OneToOneField(
        "users.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="guardian"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        constraints = [
            models.UniqueConstraint(fields=["organization", "phone"], name="guardian_phone_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone})"


class Student(models.Model):
    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, db_index=False)
    campus = models.ForeignKey("organizations.Campus", on_delete=models.PROTECT, verbose_name=_("campus"))
    number = models.CharField(_("student number"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    # Pinyin without tones ("zhangsan") and initials ("zs") so the desk can type either.
    name_pinyin = models.CharField(max_length=300, blank=True, db_index=True)
    name_initials = models.CharField(max_length=100, blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    school = models.CharField(_("school"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    guardians: "models.ManyToManyField[Guardian, StudentGuardian]" = models.ManyToManyField(
        Guardian, through="StudentGuardian", related_name="students"
    )
    adviser = models.ForeignKey(
        "users.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="advised_students",
        verbose_name=_("course adviser"),
    )
    is_active = models.BooleanField(default=True)
    # The student's own portal login (older students); guardians have theirs on Guardian.user.
    user = models.OneToOneField(
        "users.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="student"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="student_number_unique")
        ]
        indexes = [models.Index(fields=["organization", "phone"])]

    def __str__(self) -> str:
        return f"{self.name} · {self.number}"


class StudentGuardian(models.Model):
    class Relation(models.TextChoices):
        MOTHER = "mother", _("Mother")
        FATHER = "father", _("Father")
        GRANDPARENT = "grandparent", _("Grandparent")
        OTHER = "other", _("Other")

    student = models.ForeignKey(Student, on_delete=models.CASCADE, db_index=False)
    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE)
    relation = models.CharField(
        _("relation"), max_length=20, choices=Relation.choices, default=Relation.OTHER
    )
    is_primary = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "guardian"], name="student_guardian_unique")
        ]

    def __str__(self) -> str:
        return f"{self.guardian_id} → {self.student_id} ({self.relation})"
