from django.db import transaction

from feedesk.core import sql
from feedesk.organizations.models import Campus, Counter, Organization


def next_number(*, organization_id: int, name: str) -> int:
    """Take the next number of a per-organization sequence; the row stays locked until commit."""
    # One statement bumps and reads the counter; the row is created on first use.
    bump = (
        "UPDATE organizations_counter SET value = value + 1 "
        "WHERE organization_id = %s AND name = %s RETURNING value"
    )
    rows = sql.fetch(bump, [organization_id, name])
    if not rows:
        Counter.objects.get_or_create(organization_id=organization_id, name=name)
        rows = sql.fetch(bump, [organization_id, name])
    return int(rows[0][0])


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
