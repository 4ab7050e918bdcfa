"""Ledger verification of hours and recognition, run by `ledger_verify`."""

from typing import Any

from feedesk.attendance.selectors import recognised_by_account
from feedesk.enrolment.models import Enrolment
from feedesk.ledger.models import Account, AccountRole


def recognition_problems(organization_id: int | None) -> list[dict[str, Any]]:
    accounts = Account.objects.filter(role=AccountRole.DEFERRED_TUITION, enrolment__isnull=False)
    if organization_id is not None:
        accounts = accounts.filter(organization_id=organization_id)
    rows = list(accounts.values_list("pk", "code", "enrolment_id", "debits", "credits"))
    recognised = recognised_by_account(pk for pk, *_rest in rows)
    enrolments = {
        e["pk"]: e
        for e in Enrolment.objects.filter(pk__in=[r[2] for r in rows]).values(
            "pk",
            "status",
            "tuition_amount",
            "recognised_amount",
            "consumed_hours",
            "paid_consumed_hours",
            "gift_consumed_hours",
        )
    }
    problems: list[dict[str, Any]] = []
    for pk, code, enrolment_id, debits, credits in rows:
        e = enrolments[enrolment_id]
        from_ledger = recognised.get(pk, 0)
        if from_ledger != e["recognised_amount"]:
            problems.append(
                {
                    "check": "recognised_matches_ledger",
                    "account": code,
                    "message": f"enrolment {enrolment_id}: recognised {e['recognised_amount']} "
                    f"but the ledger recognised {from_ledger}",
                }
            )
        if e["consumed_hours"] != e["paid_consumed_hours"] + e["gift_consumed_hours"]:
            problems.append(
                {
                    "check": "consumed_hours_split",
                    "account": code,
                    "message": f"enrolment {enrolment_id}: consumed hours are not paid + gift",
                }
            )
        if e["status"] != Enrolment.Status.CANCELLED and credits - debits != (
            e["tuition_amount"] - e["recognised_amount"]
        ):
            problems.append(
                {
                    "check": "deferred_matches_hours",
                    "account": code,
                    "message": f"enrolment {enrolment_id}: deferred {credits - debits} but tuition "
                    f"{e['tuition_amount']} less recognised {e['recognised_amount']}",
                }
            )
    return problems
