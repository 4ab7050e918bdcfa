from django.contrib import admin
from django.urls import include, path

from feedesk.core import health

urlpatterns = [
    path("healthz", health.liveness, name="liveness"),
    path("readyz", health.readiness, name="readiness"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("feedesk.api.urls")),
    path("settings/api-tokens/", include("feedesk.api.urls_staff")),
    path("attendance/", include("feedesk.attendance.urls")),
    path("gateways/", include("feedesk.gateways.urls")),
    path("portal/", include("feedesk.portal.urls")),
    path("", include("feedesk.desk.urls")),
]
