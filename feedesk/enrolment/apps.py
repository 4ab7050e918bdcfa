from django.apps import AppConfig


class EnrolmentConfig(AppConfig):
    name = "feedesk.enrolment"
    label = "enrolment"
