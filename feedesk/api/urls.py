from django.urls import path

from feedesk.api.api import api

urlpatterns = [path("", api.urls)]
