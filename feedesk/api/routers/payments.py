from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router

from feedesk.api.idempotency import answer_in_writes, run_write
from feedesk.api.routers.common import ERRORS, actor, currency, page, visible, visible_student_or_404
from feedesk.api.schemas import (
    AllocationOut,
    Page,
    Paging,
    PathId,
    PaymentFilter,
    PaymentIn,
    PaymentOut,
    ReverseIn,
)
from feedesk.billing.selectors import orders_visible_to, payable_orders
from feedesk.core import sql
from feedesk.core.errors import ValidationFailed
from feedesk.core.permissions import Capability, require
from feedesk.payments.models import Allocation, Payment
from feedesk.payments.selectors import payments_visible_to, payments_with_allocations, propose_allocation
from feedesk.payments.services import AllocationRequest, apply_credit, record_payment, reverse_payment
from feedesk.people.models import Student
from feedesk.users.models import User

router = Router(tags=["payments"])

CREDIT = "credit"


def allocation_out(allocation: Allocation) -> AllocationOut:
    return AllocationOut(
        id=allocation.pk,
        order_id=allocation.order_id,
        order_number=allocation.order.number,
        amount=allocation.amount,
        reverses_id=allocation.reverses_id,
        created_at=allocation.created_at,
    )


def payment_out(payment: Payment, currency_code: str) -> PaymentOut:
    allocations = sorted(payment.allocations.all(), key=lambda a: a.pk)
    allocated = sum(a.amount for a in allocations)
    return PaymentOut(
        id=payment.pk,
        receipt_number=payment.receipt_number,
        student_id=payment.student_id,
        campus_id=payment.campus_id,
        channel=payment.channel,
        amount=payment.amount,
        allocated=allocated,
        to_credit=payment.amount - allocated if payment.status == Payment.Status.RECEIVED else 0,
        currency=currency_code,
        reference=payment.reference,
        received_at=payment.received_at,
        status=payment.status,
        allocations=[allocation_out(a) for a in allocations],
        reversed_at=payment.reversed_at,
        reversal_reason=payment.reversal_reason,
    )


def _pay_from_credit(user: User, student: Student, payload: PaymentIn, currency_code: str) -> PaymentOut:
    """Channel `credit`: no money comes in; the wallet pays each allocation (oldest due first if none)."""
    if payload.allocations is None:
        proposal = propose_allocation(
            orders=list(payable_orders(student_id=student.pk)), amount=payload.amount
        )
        requests = [AllocationRequest(order_id=o.pk, amount=a) for o, a in proposal]
    else:
        requests = [AllocationRequest(order_id=a.order_id, amount=a.amount) for a in payload.allocations]
    if sum(r.amount for r in requests) != payload.amount:
        raise ValidationFailed(
            _("Paying from credit, the allocations must add up to the amount."),
            code="credit_allocations_mismatch",
        )
    orders = orders_visible_to(user).filter(student=student)
    allocations = [
        apply_credit(actor=user, student=student, order=visible(orders, r.order_id), amount=r.amount)
        # One lock order for all of them: orders by pk.
        for r in sorted(requests, key=lambda r: r.order_id)
    ]
    allocations = list(Allocation.objects.filter(pk__in=[a.pk for a in allocations]).select_related("order"))
    return PaymentOut(
        id=None,
        receipt_number=None,
        student_id=student.pk,
        campus_id=student.campus_id,
        channel=CREDIT,
        amount=payload.amount,
        allocated=payload.amount,
        to_credit=0,
        currency=currency_code,
        reference=payload.reference,
        received_at=timezone.now(),
        status=Payment.Status.RECEIVED,
        allocations=[allocation_out(a) for a in sorted(allocations, key=lambda a: a.pk)],
        reversed_at=None,
        reversal_reason="",
    )


@router.post("/payments", response={201: PaymentOut, **ERRORS}, summary="Record a payment")
def create_payment(request: HttpRequest, payload: PaymentIn) -> HttpResponse:
    user = actor(request)
    key = request.headers.get("Idempotency-Key")

    def work() -> tuple[int, PaymentOut]:
        student = visible_student_or_404(user, payload.student_id)
        code = currency(request)
        if payload.channel == CREDIT:
            return 201, _pay_from_credit(user, student, payload, code)
        allocations = None
        if payload.allocations is not None:
            orders = orders_visible_to(user).filter(student=student)
            allocations = [
                AllocationRequest(order_id=visible(orders, a.order_id).pk, amount=a.amount)
                for a in payload.allocations
            ]
        answer = answer_in_writes(request)
        answered: list[PaymentOut] = []

        def written_with_posting(payment: Payment) -> list[sql.Statement]:
            """The keyed request's answer, recorded in the posting's statement."""
            assert answer is not None
            answered.append(payment_out(payment, code))
            return [answer.statement(201, answered[0])]

        payment = record_payment(
            actor=user,
            student=student,
            amount=payload.amount,
            channel=payload.channel,
            reference=payload.reference,
            received_at=payload.received_at,
            allocations=allocations,
            # Payment keys are unique per organization; API keys are per user.
            idempotency_key=f"api:{user.pk}:{key}" if key else None,
            # run_write holds the Idempotency-Key, the only way to this payment key, and its
            # savepoint around the work recovers from a refusal: no second savepoint is needed.
            key_held_by_caller=key is not None,
            then=written_with_posting if answer is not None else None,
        )
        # A new payment comes back with its allocations (and their orders) loaded.
        return 201, answered[0] if answered else payment_out(payment, code)

    return run_write(request, work)


@router.get("/payments", response={200: Page[PaymentOut], **ERRORS}, summary="Payments")
def list_payments(
    request: HttpRequest, filters: Query[PaymentFilter], paging: Query[Paging]
) -> Page[PaymentOut]:
    user = actor(request)
    require(user, Capability.VIEW_STUDENTS)
    qs = payments_with_allocations(payments_visible_to(user)).order_by("-received_at", "-pk")
    if filters.student_id is not None:
        qs = qs.filter(student_id=filters.student_id)
    items, count = page(qs, paging)
    code = currency(request)
    return Page[PaymentOut](items=[payment_out(p, code) for p in items], count=count)


@router.get("/payments/{payment_id}", response={200: PaymentOut, **ERRORS}, summary="A payment")
def get_payment(request: HttpRequest, payment_id: PathId) -> PaymentOut:
    user = actor(request)
    require(user, Capability.VIEW_STUDENTS)
    payment = visible(payments_with_allocations(payments_visible_to(user)), payment_id)
    return payment_out(payment, currency(request))


@router.post(
    "/payments/{payment_id}/reverse",
    response={200: PaymentOut, **ERRORS},
    summary="Reverse a payment recorded by mistake",
)
def reverse_payment_endpoint(request: HttpRequest, payment_id: PathId, payload: ReverseIn) -> HttpResponse:
    user = actor(request)

    def work() -> tuple[int, PaymentOut]:
        payment = visible(payments_visible_to(user), payment_id)
        reverse_payment(actor=user, payment=payment, reason=payload.reason)
        fresh = payments_with_allocations(Payment.objects.filter(pk=payment.pk)).get()
        return 200, payment_out(fresh, currency(request))

    return run_write(request, work)
