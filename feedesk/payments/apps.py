from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "feedesk.payments"
    label = "payments"

    def ready(self) -> None:
        from feedesk.ledger.selectors import register_check
        from feedesk.payments.checks import order_allocation_problems

        register_check(order_allocation_problems)
