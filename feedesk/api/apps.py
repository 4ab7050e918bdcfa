from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "feedesk.api"
    label = "api"
    verbose_name = "API"
