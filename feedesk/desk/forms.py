"""Desk forms: they parse what staff type; the services decide what is allowed."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from feedesk.billing.models import Order, OrderLine
from feedesk.billing.services import Discount, DiscountKind
from feedesk.catalog.models import ClassGroup
from feedesk.desk.helpers import AmountField
from feedesk.organizations.models import Campus
from feedesk.payments.models import Channel

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=[("zh-hans", "简体中文"), ("en", "English")])
    next = forms.CharField(required=False)


class StudentForm(forms.Form):
    campus = forms.ModelChoiceField(queryset=Campus.objects.none(), label=_("Campus"))
    name = forms.CharField(label=_("Name"), max_length=100)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    guardian1_name = forms.CharField(label=_("Guardian's name"), max_length=100, required=False)
    guardian1_phone = forms.CharField(label=_("Guardian's phone"), max_length=20, required=False)
    guardian2_name = forms.CharField(label=_("Second guardian's name"), max_length=100, required=False)
    guardian2_phone = forms.CharField(label=_("Second guardian's phone"), max_length=20, required=False)

    def __init__(self, *args: Any, campuses: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["campus"].queryset = campuses  # type: ignore[attr-defined]
        if len(campuses) == 1:
            self.fields["campus"].initial = campuses[0].pk

    def guardians(self) -> list[tuple[str, str]]:
        pairs = []
        for n in (1, 2):
            name = self.cleaned_data[f"guardian{n}_name"].strip()
            phone = self.cleaned_data[f"guardian{n}_phone"].strip()
            if name or phone:
                pairs.append((name, phone))
        return pairs


class DiscountFields(forms.Form):
    DISCOUNT_CHOICES = [
        ("", _("No discount")),
        ("fixed", _("Fixed amount (¥)")),
        ("percent", _("Percent (%)")),
    ]
    discount_kind = forms.ChoiceField(label=_("Discount"), choices=DISCOUNT_CHOICES, required=False)
    discount_value = forms.CharField(label=_("Discount value"), required=False)
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DATE)
    on_account = forms.BooleanField(label=_("On account"), required=False, initial=True)
    online_payable = forms.BooleanField(label=_("Payable online"), required=False)
    external_notes = forms.CharField(
        label=_("Notes for the payer"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    internal_notes = forms.CharField(
        label=_("Internal notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def discount(self) -> Discount | None:
        kind = self.cleaned_data.get("discount_kind")
        raw = (self.cleaned_data.get("discount_value") or "").strip()
        if not kind or not raw:
            return None
        if kind == "fixed":
            return Discount(DiscountKind.FIXED, AmountField(allow_zero=True).clean(raw) or 0)
        try:
            percent = Decimal(raw.rstrip("%"))
        except InvalidOperation:
            raise forms.ValidationError(_("Enter the discount as a percentage, e.g. 10 or 12.5.")) from None
        basis_points = percent * 100
        if basis_points != basis_points.to_integral_value():
            raise forms.ValidationError(_("A percentage can have at most two decimal places."))
        return Discount(DiscountKind.PERCENT, int(basis_points))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            cleaned["discount"] = self.discount()
        except forms.ValidationError as error:
            self.add_error("discount_value", error)
        return cleaned


class EnrolForm(DiscountFields):
    class_group = forms.ModelChoiceField(queryset=ClassGroup.objects.none(), label=_("Class"))
    hours = forms.DecimalField(
        label=_("Lessons to buy (per-lesson courses)"),
        required=False,
        min_value=Decimal("0.5"),
        decimal_places=2,
    )
    price_override = AmountField(label=_("Price override (¥, tuition)"), required=False, allow_zero=True)
    include_materials = forms.BooleanField(label=_("Materials fee"), required=False, initial=True)
    include_registration = forms.BooleanField(label=_("Registration fee"), required=False)
    override_capacity = forms.BooleanField(label=_("Enrol even if the class is full"), required=False)

    field_order = ["class_group", "hours", "price_override", "discount_kind", "discount_value"]

    def __init__(self, *args: Any, classes: Any, may_override: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["class_group"].queryset = classes  # type: ignore[attr-defined]
        if not may_override:
            del self.fields["override_capacity"]


class PaymentForm(forms.Form):
    amount = AmountField(label=_("Amount received (¥)"))
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[c for c in Channel.choices if c[0] != Channel.ONLINE]
    )
    reference = forms.CharField(label=_("Reference (transaction no.)"), max_length=100, required=False)
    received_at = forms.DateTimeField(
        label=_("Received at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: Any, orders: list[Order], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.orders = orders
        for order in orders:
            self.fields[f"alloc_{order.pk}"] = AmountField(
                label=_("Order #%(number)s") % {"number": order.number}, required=False, allow_zero=True
            )

    def allocation_fields(self) -> list[tuple[Order, forms.BoundField]]:
        return [(order, self[f"alloc_{order.pk}"]) for order in self.orders]

    def allocations(self) -> list[tuple[int, int]]:
        return [
            (order.pk, self.cleaned_data.get(f"alloc_{order.pk}") or 0)
            for order in self.orders
            if self.cleaned_data.get(f"alloc_{order.pk}")
        ]


class ReverseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class CreditForm(forms.Form):
    amount = AmountField(label=_("Amount from credit (¥)"))


class FlagsForm(forms.Form):
    online_payable = forms.BooleanField(label=_("Payable online"), required=False)
    due_date = forms.DateField(label=_("Due date"), widget=DATE)
    external_notes = forms.CharField(
        label=_("Notes for the payer"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    internal_notes = forms.CharField(
        label=_("Internal notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


LINE_ROWS = 4


class ManualOrderForm(DiscountFields):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = [(k, label) for k, label in OrderLine.Kind.choices if k != OrderLine.Kind.TUITION]
        for n in range(LINE_ROWS):
            self.fields[f"line{n}_description"] = forms.CharField(
                label=_("Description"), max_length=200, required=False
            )
            self.fields[f"line{n}_kind"] = forms.ChoiceField(label=_("Kind"), choices=kinds, required=False)
            self.fields[f"line{n}_unit_price"] = AmountField(
                label=_("Unit price (¥)"), required=False, allow_zero=True
            )
            self.fields[f"line{n}_quantity"] = forms.DecimalField(
                label=_("Quantity"), required=False, decimal_places=2, initial=1
            )

    def line_rows(self) -> list[list[forms.BoundField]]:
        names = ("description", "kind", "unit_price", "quantity")
        return [[self[f"line{n}_{name}"] for name in names] for n in range(LINE_ROWS)]

    def lines(self) -> list[tuple[str, str, int, Decimal]]:
        rows = []
        for n in range(LINE_ROWS):
            description = (self.cleaned_data.get(f"line{n}_description") or "").strip()
            price = self.cleaned_data.get(f"line{n}_unit_price")
            if not description and price is None:
                continue
            rows.append(
                (
                    description,
                    self.cleaned_data.get(f"line{n}_kind") or OrderLine.Kind.OTHER,
                    price or 0,
                    self.cleaned_data.get(f"line{n}_quantity") or Decimal(1),
                )
            )
        return rows
