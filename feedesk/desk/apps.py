from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "feedesk.desk"
    label = "desk"
