from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from feedesk.api.idempotency import run_write
from feedesk.api.routers.common import ERRORS, actor, currency, hours, page, visible
from feedesk.api.schemas import (
    CancelIn,
    DiscountIn,
    EnrolmentCreated,
    EnrolmentIn,
    EnrolmentOut,
    OrderFilter,
    OrderIn,
    OrderLineOut,
    OrderOut,
    Page,
    Paging,
    PathId,
)
from feedesk.attendance.selectors import hours_position
from feedesk.billing.models import Order
from feedesk.billing.selectors import orders_visible_to
from feedesk.billing.services import Discount, DiscountKind, LineDraft, cancel_order, create_order
from feedesk.catalog.selectors import classes_visible_to
from feedesk.core.permissions import Capability, require
from feedesk.enrolment.models import Enrolment
from feedesk.enrolment.services import enrol_student
from feedesk.people.selectors import students_visible_to

router = Router(tags=["enrolments and orders"])


def _discount(payload: DiscountIn | None) -> Discount | None:
    if payload is None:
        return None
    return Discount(kind=DiscountKind(payload.kind), value=payload.value)


def order_out(order: Order, currency_code: str) -> OrderOut:
    return OrderOut(
        id=order.pk,
        number=order.number,
        student_id=order.student_id,
        campus_id=order.campus_id,
        kind=order.kind,
        status=order.status,
        lines=[
            OrderLineOut(
                kind=line.kind,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                gross_amount=line.gross_amount,
                discount_amount=line.discount_amount,
                net_amount=line.net_amount,
            )
            for line in order.lines.all()
        ],
        total=order.total,
        paid=order.paid,
        balance=order.balance,
        currency=currency_code,
        due_date=order.due_date,
        on_account=order.on_account,
        online_payable=order.online_payable,
        external_notes=order.external_notes,
        internal_notes=order.internal_notes,
        enrolment_id=order.enrolment_id,
        issued_at=order.issued_at,
        cancelled_at=order.cancelled_at,
        created_at=order.created_at,
    )


def enrolment_out(enrolment: Enrolment, currency_code: str) -> EnrolmentOut:
    # The staff pages' figures: deferred is the enrolment's deferred-tuition balance, recognised
    # its CONSUMPTION and EXPIRY postings net of their reversals, both read from the ledger.
    position = hours_position(enrolment)
    first_order = enrolment.orders.order_by("pk").values_list("pk", flat=True).first()
    return EnrolmentOut(
        id=enrolment.pk,
        student_id=enrolment.student_id,
        class_id=enrolment.class_group_id,
        status=enrolment.status,
        purchased_hours=hours(position.purchased_hours),
        gift_hours=hours(position.gift_hours),
        consumed_hours=hours(position.consumed_hours),
        remaining_hours=hours(position.remaining_hours),
        tuition_amount=position.tuition_amount,
        deferred_amount=position.deferred_amount,
        recognised_amount=position.recognised_amount,
        currency=currency_code,
        order_id=first_order,
        valid_until=position.valid_until,
        created_at=enrolment.created_at,
    )


@router.post(
    "/enrolments",
    response={201: EnrolmentCreated, **ERRORS},
    summary="Enrol a student in a class; issues the order",
)
def create_enrolment(request: HttpRequest, payload: EnrolmentIn) -> HttpResponse:
    user = actor(request)

    def work() -> tuple[int, EnrolmentCreated]:
        enrolment, order = enrol_student(
            actor=user,
            student=visible(students_visible_to(user), payload.student_id),
            class_group=visible(classes_visible_to(user), payload.class_id),
            hours=payload.hours,
            price_override=payload.price_override,
            discount=_discount(payload.discount),
            due_date=payload.due_date,
        )
        code = currency(request)
        return 201, EnrolmentCreated(enrolment=enrolment_out(enrolment, code), order=order_out(order, code))

    return run_write(request, work)


@router.get("/enrolments/{enrolment_id}", response={200: EnrolmentOut, **ERRORS}, summary="An enrolment")
def get_enrolment(request: HttpRequest, enrolment_id: PathId) -> EnrolmentOut:
    user = actor(request)
    require(user, Capability.VIEW_STUDENTS)
    qs = Enrolment.objects.filter(organization_id=user.tenant_id, student__in=students_visible_to(user))
    return enrolment_out(visible(qs, enrolment_id), currency(request))


@router.post("/orders", response={201: OrderOut, **ERRORS}, summary="Issue an order")
def create_order_endpoint(request: HttpRequest, payload: OrderIn) -> HttpResponse:
    user = actor(request)

    def work() -> tuple[int, OrderOut]:
        order = create_order(
            actor=user,
            student=visible(students_visible_to(user), payload.student_id),
            lines=[
                LineDraft(
                    kind=line.kind,
                    description=line.description,
                    unit_price=line.unit_price,
                    quantity=line.quantity,
                    discountable=line.discountable,
                )
                for line in payload.lines
            ],
            due_date=payload.due_date,
            discount=_discount(payload.discount),
            on_account=payload.on_account,
            online_payable=payload.online_payable,
            external_notes=payload.external_notes,
            internal_notes=payload.internal_notes,
        )
        return 201, order_out(order, currency(request))

    return run_write(request, work)


@router.get("/orders", response={200: Page[OrderOut], **ERRORS}, summary="Orders")
def list_orders(request: HttpRequest, filters: Query[OrderFilter], paging: Query[Paging]) -> Page[OrderOut]:
    user = actor(request)
    require(user, Capability.VIEW_STUDENTS)
    qs = orders_visible_to(user).prefetch_related("lines").order_by("-number")
    if filters.student_id is not None:
        qs = qs.filter(student_id=filters.student_id)
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    items, count = page(qs, paging)
    code = currency(request)
    return Page[OrderOut](items=[order_out(o, code) for o in items], count=count)


@router.get("/orders/{order_id}", response={200: OrderOut, **ERRORS}, summary="An order")
def get_order(request: HttpRequest, order_id: PathId) -> OrderOut:
    user = actor(request)
    require(user, Capability.VIEW_STUDENTS)
    return order_out(visible(orders_visible_to(user), order_id), currency(request))


@router.post(
    "/orders/{order_id}/cancel",
    response={200: OrderOut, **ERRORS},
    summary="Cancel an order nothing has been paid on",
)
def cancel_order_endpoint(request: HttpRequest, order_id: PathId, payload: CancelIn) -> HttpResponse:
    user = actor(request)

    def work() -> tuple[int, OrderOut]:
        order = cancel_order(
            actor=user, order=visible(orders_visible_to(user), order_id), reason=payload.reason
        )
        return 200, order_out(order, currency(request))

    return run_write(request, work)
