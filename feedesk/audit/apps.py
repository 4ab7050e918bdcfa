from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "feedesk.audit"
    label = "audit"
