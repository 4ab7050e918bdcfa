"""Delivering one-time codes. The seam: FEEDESK_CODE_SENDER names a callable that sends a text message.

Nothing here logs or prints a code. Without a sender, codes are shown on screen only where
`FEEDESK_SHOW_CODES_ON_SCREEN` is on (DEBUG and the demo), clearly marked as a demo.
"""

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from feedesk.core.errors import Conflict


class CodeSender(Protocol):
    def __call__(self, *, phone: str, code: str, purpose: str, school: str) -> None: ...


def show_codes_on_screen() -> bool:
    return bool(getattr(settings, "FEEDESK_SHOW_CODES_ON_SCREEN", settings.DEBUG))


def deliver_code(*, phone: str, code: str, purpose: str, school: str) -> bool:
    """Send the code; True means no sender is set up and the (demo) page shows the code instead."""
    path = getattr(settings, "FEEDESK_CODE_SENDER", "")
    if path:
        sender: CodeSender = import_string(path)
        sender(phone=phone, code=code, purpose=purpose, school=school)
        return False
    if show_codes_on_screen():
        return True
    raise Conflict(
        _("The school cannot send codes by text message yet. Please ask the school for a code."),
        code="code_delivery_unavailable",
    )
