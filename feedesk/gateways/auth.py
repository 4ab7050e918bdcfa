from typing import Any

from django.contrib.auth.backends import ModelBackend


class HumanAccountsBackend(ModelBackend):
    """The usual backend, except that system accounts (the gateway's poster) can never log in."""

    def user_can_authenticate(self, user: Any) -> bool:
        from feedesk.gateways.models import SystemAccount

        if SystemAccount.objects.filter(user_id=user.pk).exists():
            return False
        return super().user_can_authenticate(user)
