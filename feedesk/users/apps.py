from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "feedesk.users"
    label = "users"
