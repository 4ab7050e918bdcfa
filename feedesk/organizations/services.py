from collections.abc import Sequence

from django.db import models, transaction

from feedesk.core import sql
from feedesk.organizations.models import Campus, Counter, Organization


def next_number(*, organization_id: int, name: str) -> int:
    """Take the next number of a per-organization sequence; the row stays locked until commit."""
    return next_number_reserving(organization_id=organization_id, name=name)[0]


def next_number_reserving(
    *, organization_id: int, name: str, reserve: Sequence[tuple[type[models.Model], int]] = ()
) -> tuple[int, list[list[int]]]:
    """`next_number`, and for each (model, count) of `reserve` that many primary keys for rows
    the caller will insert (`sql.reserve_ids_column`), in the same statement."""
    # One statement bumps and reads the counter; the row is created on first use.
    reserving = "".join(f", {sql.reserve_ids_column(model)}" for model, _count in reserve)
    bump = (
        "UPDATE organizations_counter SET value = value + 1 "
        f"WHERE organization_id = %s AND name = %s RETURNING value{reserving}"
    )
    params = [organization_id, name, *(count for _model, count in reserve)]
    rows = sql.fetch(bump, params)
    if not rows:
        Counter.objects.get_or_create(organization_id=organization_id, name=name)
        rows = sql.fetch(bump, params)
    number, *reserved = rows[0]
    return int(number), [
        sql.reserved_ids(value, count) for value, (_model, count) in zip(reserved, reserve, strict=True)
    ]


@transaction.atomic
def create_organization(
    *, name: str, slug: str, currency: str = "CNY", timezone: str = "Asia/Shanghai"
) -> Organization:
    from feedesk.ledger.services import open_organization_accounts
    from feedesk.payments.services import open_channel_accounts

    organization = Organization.objects.create(name=name, slug=slug, currency=currency, timezone=timezone)
    for counter in ("order", "receipt", "student"):
        Counter.objects.create(organization=organization, name=counter)
    open_organization_accounts(organization=organization)
    open_channel_accounts(organization_id=organization.pk)
    return organization


@transaction.atomic
def create_campus(*, organization: Organization, name: str, code: str, address: str = "") -> Campus:
    from feedesk.payments.services import open_cash_account

    campus = Campus.objects.create(organization=organization, name=name, code=code, address=address)
    open_cash_account(campus=campus)
    return campus
