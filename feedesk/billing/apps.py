from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "feedesk.billing"
    label = "billing"
