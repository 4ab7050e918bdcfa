"""How hours turn into revenue.

The unit price of a paid hour is tuition / purchased hours; gift hours are worth nothing. To
never lose or invent a fen, the tuition recognised after `paid consumed` hours is always

    recognised_for(T, P, c) = round_half_up(T × c / P)        (T when c ≥ P)

and every consumption, correction or expiry posts the change of that figure. The parts add up
to the whole: when the last paid hour is consumed the enrolment's deferred tuition is exactly 0.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from feedesk.audit.services import record_audit
from feedesk.catalog.models import ClassGroup
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import Account, AccountRole, EntryCode, JournalEntry
from feedesk.ledger.services import EntryDraft, Leg, post_entries
from feedesk.users.models import User


def hundredths(hours: Decimal) -> int:
    return int((hours * 100).to_integral_value())


def recognised_for(*, tuition: int, purchased: Decimal, paid_consumed: Decimal) -> int:
    """Tuition earned once `paid_consumed` of `purchased` paid hours are used (cumulative rounding)."""
    p, c = hundredths(purchased), hundredths(paid_consumed)
    if p <= 0:
        return 0
    if c >= p:
        return tuition
    return (2 * tuition * c + p) // (2 * p)


def hour_price(*, tuition: int, purchased: Decimal) -> int:
    """The price of one paid hour, rounded half up; what arrears are billed at."""
    p = hundredths(purchased)
    return (2 * tuition * 100 + p) // (2 * p) if p > 0 else 0


def revenue_account_id(class_group: ClassGroup) -> int:
    return Account.objects.values_list("pk", flat=True).get(
        organization_id=class_group.organization_id,
        role=AccountRole.TUITION_REVENUE,
        subject_id=class_group.course.subject_id,
    )


def deferred_account_ids(enrolment_ids: list[int]) -> dict[int, int]:
    return dict(
        Account.objects.filter(enrolment_id__in=enrolment_ids, role=AccountRole.DEFERRED_TUITION).values_list(
            "enrolment_id", "pk"
        )
    )


def expiry_key(enrolment_id: int) -> str:
    return f"enrolment:{enrolment_id}:expiry"


def expire_enrolments(
    *, as_of: datetime.date | None = None, organization_id: int | None = None, actor: User | None = None
) -> list[int]:
    """Recognise the deferred tuition of enrolments whose validity ended before `as_of`.

    Only courses marked `expiry_applies`. One transaction (and one EXPIRY entry) per enrolment,
    keyed `enrolment:<id>:expiry`, so running it again — or twice at once — posts nothing twice.
    Returns the ids of the enrolments expired by this run.
    """
    as_of = as_of or timezone.localdate()
    candidates = Enrolment.objects.filter(
        expired_on__isnull=True,
        valid_until__lt=as_of,
        class_group__course__expiry_applies=True,
        status__in=[Enrolment.Status.ACTIVE, Enrolment.Status.COMPLETED],
    )
    if organization_id is not None:
        candidates = candidates.filter(organization_id=organization_id)
    expired = []
    for pk in candidates.order_by("pk").values_list("pk", flat=True).iterator():
        if _expire_one(pk, as_of=as_of, actor=actor):
            expired.append(pk)
    return expired


@transaction.atomic
def _expire_one(enrolment_id: int, *, as_of: datetime.date, actor: User | None) -> bool:
    enrolment = (
        Enrolment.objects.select_for_update().select_related("class_group__course").get(pk=enrolment_id)
    )
    if enrolment.expired_on is not None:
        return False
    key = expiry_key(enrolment.pk)
    if JournalEntry.objects.filter(organization_id=enrolment.organization_id, idempotency_key=key).exists():
        return False
    amount = enrolment.tuition_amount - enrolment.recognised_amount
    entry = None
    if amount > 0:
        deferred = deferred_account_ids([enrolment.pk])[enrolment.pk]
        revenue = revenue_account_id(enrolment.class_group)
        [entry] = post_entries(
            organization_id=enrolment.organization_id,
            actor=actor,
            drafts=[
                EntryDraft(
                    code=EntryCode.EXPIRY,
                    idempotency_key=key,
                    legs=[Leg(deferred, amount), Leg(revenue, -amount)],
                    effective_date=as_of,
                    memo=f"E{enrolment.pk} valid until {enrolment.valid_until}",
                )
            ],
        )
    Enrolment.objects.filter(pk=enrolment.pk).update(
        expired_on=as_of, recognised_amount=enrolment.recognised_amount + max(amount, 0)
    )
    record_audit(
        actor=actor,
        action="enrolment.expired",
        target=enrolment,
        amount=max(amount, 0),
        data={
            "valid_until": str(enrolment.valid_until),
            "remaining_hours": str(enrolment.remaining_hours),
            "entry": entry.pk if entry else None,
        },
    )
    return True
