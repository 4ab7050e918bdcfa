from django.db import transaction
from django.db.models import F

from feedesk.organizations.models import Campus, Counter, Organization


def next_number(*, organization_id: int, name: str) -> int:
    """Take the next number of a per-organization sequence; the row stays locked until commit."""
    updated = Counter.objects.filter(organization_id=organization_id, name=name).update(value=F("value") + 1)
    if not updated:
        Counter.objects.get_or_create(organization_id=organization_id, name=name)
        Counter.objects.filter(organization_id=organization_id, name=name).update(value=F("value") + 1)
    return Counter.objects.values_list("value", flat=True).get(organization_id=organization_id, name=name)


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
