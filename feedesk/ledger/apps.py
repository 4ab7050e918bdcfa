from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "feedesk.ledger"
    label = "ledger"
