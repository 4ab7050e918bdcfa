from functools import lru_cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from feedesk.core import sql
from feedesk.portal.selectors import FAMILY_ROWS, family_columns


class HumanAccountsBackend(ModelBackend):
    """The usual backend, except that system accounts (the gateway's poster) can never log in."""

    def user_can_authenticate(self, user: Any) -> bool:
        from feedesk.gateways.models import SystemAccount

        if SystemAccount.objects.filter(user_id=user.pk).exists():
            return False
        return super().user_can_authenticate(user)

    def get_user(self, user_id: Any) -> Any:
        """The signed-in user of a request: one lean statement, which also leaves system accounts out.

        It runs on every request, where building the same query through the ORM would cost
        several times more than running it.
        """
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        names, statement = _user_statement()
        rows = sql.fetch(statement, [pk])
        if not rows:
            return None
        user = sql.read(model, names, rows[0][: len(names)])
        # A guardian login's family comes with it: the portal's pages start with it.
        setattr(user, FAMILY_ROWS, [row[len(names) :] for row in rows])
        return user if super().user_can_authenticate(user) else None


@lru_cache(maxsize=1)
def _user_statement() -> tuple[tuple[str, ...], str]:
    from feedesk.gateways.models import SystemAccount

    model = get_user_model()
    names = sql.concrete_names(model)
    family, joins, order = family_columns("u")
    return names, (
        f"SELECT {sql.columns(model, names, 'u')}, {family} FROM {model._meta.db_table} u {joins} "
        f"WHERE u.id = %s AND NOT EXISTS (SELECT 1 FROM {SystemAccount._meta.db_table} a "
        f"WHERE a.user_id = u.id) ORDER BY {order}"
    )
