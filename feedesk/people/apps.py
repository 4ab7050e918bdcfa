from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "feedesk.people"
    label = "people"
