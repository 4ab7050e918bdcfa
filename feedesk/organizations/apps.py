from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "feedesk.organizations"
    label = "organizations"
