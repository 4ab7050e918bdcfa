from django.urls import path

from feedesk.attendance import views

app_name = "attendance"
urlpatterns = [
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/<int:pk>/", views.session_detail, name="session"),
    path("sessions/<int:pk>/reschedule/", views.session_reschedule, name="session_reschedule"),
    path("sessions/<int:pk>/cancel/", views.session_cancel, name="session_cancel"),
    path("sessions/<int:pk>/students/", views.session_students, name="session_students"),
    path("classes/<int:pk>/", views.class_detail, name="class"),
    path("classes/<int:pk>/generate/", views.class_generate, name="class_generate"),
    path("classes/<int:pk>/sessions/add/", views.class_add_session, name="class_add_session"),
    path("enrolments/<int:pk>/", views.enrolment_detail, name="enrolment"),
    path("reasons/", views.reasons, name="reasons"),
    path("closed-dates/", views.closed_date_add, name="closed_date_add"),
    path("closed-dates/<int:pk>/remove/", views.closed_date_remove, name="closed_date_remove"),
    path("settings/", views.settings_update, name="settings"),
    path("renewals/", views.renewals, name="renewals"),
]
