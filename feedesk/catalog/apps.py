from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "feedesk.catalog"
    label = "catalog"
