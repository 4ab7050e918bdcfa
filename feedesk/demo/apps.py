from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "feedesk.demo"
    label = "demo"
