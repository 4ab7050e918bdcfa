from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    name = "feedesk.attendance"
    label = "attendance"

    def ready(self) -> None:
        from feedesk.attendance.checks import recognition_problems
        from feedesk.ledger.selectors import register_check

        register_check(recognition_problems)
