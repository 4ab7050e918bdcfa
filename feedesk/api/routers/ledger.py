from django.http import HttpRequest
from ninja import Query, Router

from feedesk.api.routers.common import ERRORS, actor
from feedesk.api.schemas import TrialBalanceOut, TrialBalanceQuery, TrialBalanceRowOut, VerifyOut
from feedesk.core.permissions import Capability, require
from feedesk.ledger.selectors import trial_balance, verify_ledger

router = Router(tags=["ledger"])


@router.get("/ledger/trial-balance", response={200: TrialBalanceOut, **ERRORS}, summary="Trial balance")
def get_trial_balance(request: HttpRequest, query: Query[TrialBalanceQuery]) -> TrialBalanceOut:
    user = actor(request)
    require(user, Capability.VIEW_LEDGER)
    tb = trial_balance(organization_id=user.tenant_id, as_of=query.as_of)
    return TrialBalanceOut(
        accounts=[
            TrialBalanceRowOut(
                code=r.code, name=r.name, debits=r.debits, credits=r.credits, balance=r.balance
            )
            for r in tb.rows
        ],
        total_debits=tb.total_debits,
        total_credits=tb.total_credits,
        currency=tb.currency,
    )


@router.get("/ledger/verify", response={200: VerifyOut, **ERRORS}, summary="Verify the ledger")
def get_verify(request: HttpRequest) -> VerifyOut:
    user = actor(request)
    require(user, Capability.VIEW_LEDGER)
    report = verify_ledger(organization_id=user.tenant_id)
    return VerifyOut(**report.as_dict())
