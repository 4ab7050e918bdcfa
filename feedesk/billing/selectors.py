from django.db.models import QuerySet

from feedesk.billing.models import Order, OrderStatus
from feedesk.users.models import User

PAYABLE_STATUSES = (OrderStatus.OPEN, OrderStatus.PARTIALLY_PAID)


def orders_visible_to(user: User) -> QuerySet[Order]:
    qs = Order.objects.filter(organization_id=user.tenant_id)
    campus_ids = user.campus_ids()
    if campus_ids is not None:
        qs = qs.filter(campus_id__in=campus_ids)
    return qs


def payable_orders(*, student_id: int) -> QuerySet[Order]:
    """A student's orders with money owed, oldest due first (the allocation order)."""
    return Order.objects.filter(student_id=student_id, status__in=PAYABLE_STATUSES).order_by(
        "due_date", "number"
    )
