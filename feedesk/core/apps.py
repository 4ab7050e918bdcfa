from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "feedesk.core"
    label = "core"
