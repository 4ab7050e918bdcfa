from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from feedesk.attendance.models import AbsenceReason, AttendanceSettings
from feedesk.catalog.models import ClassGroup
from feedesk.enrolment.models import Enrolment
from feedesk.people.models import Student


class SessionTimesForm(forms.Form):
    date = forms.DateField(label=_("date"), widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(label=_("starts"), widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(label=_("ends"), widget=forms.TimeInput(attrs={"type": "time"}))
    hours = forms.DecimalField(label=_("hours"), max_digits=5, decimal_places=2, required=False, min_value=0)
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class SessionStudentsForm(forms.Form):
    """Whom an extra session is for: some of the class's active students, or none for all."""

    students = forms.ModelMultipleChoiceField(
        label=_("For"),
        help_text=_("Leave empty for the whole class."),
        queryset=Student.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, class_group: ClassGroup, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        enrolled = Enrolment.objects.filter(class_group=class_group, status=Enrolment.Status.ACTIVE)
        field = self.fields["students"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = Student.objects.filter(pk__in=enrolled.values("student_id")).order_by(
            "name_pinyin", "pk"
        )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200, required=False)


class AbsenceReasonForm(forms.Form):
    code = forms.SlugField(label=_("code"), max_length=32)
    name = forms.CharField(label=_("name"), max_length=100)
    name_en = forms.CharField(label=_("English name"), max_length=100)
    rule = forms.ChoiceField(label=_("rule"), choices=AbsenceReason.Rule.choices)
    makeup_valid_days = forms.IntegerField(label=_("make-up credit valid for (days)"), min_value=0, initial=0)
    usable_by_students = forms.BooleanField(label=_("students and guardians may choose it"), required=False)
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)


class ClosedDateForm(forms.Form):
    date = forms.DateField(label=_("date"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("reason"), max_length=200, required=False)


class SettingsForm(forms.ModelForm):
    class Meta:
        model = AttendanceSettings
        fields = [
            "gift_hours_first",
            "renewal_threshold_hours",
            "renewal_days_before_expiry",
            "student_cutoff_minutes",
            "roll_call_early_minutes",
        ]
