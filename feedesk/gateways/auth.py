from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from feedesk.core import sql
from feedesk.portal.selectors import FAMILY_ROWS, family_columns
from feedesk.users.sessions import NOT_LOADED, user_loaded_with_session


class HumanAccountsBackend(ModelBackend):
    """The usual backend, except that system accounts (the gateway's poster) can never log in."""

    def user_can_authenticate(self, user: Any) -> bool:
        from feedesk.gateways.models import SystemAccount

        if SystemAccount.objects.filter(user_id=user.pk).exists():
            return False
        return super().user_can_authenticate(user)

    def get_user(self, user_id: Any) -> Any:
        """The signed-in user of a request, which also leaves system accounts out.

        It runs on every request: the user usually came with the session's own statement
        (`session_join`); otherwise one lean statement reads it, where building the same query
        through the ORM would cost several times more than running it.
        """
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        user = user_loaded_with_session(pk)
        if user is NOT_LOADED:
            user = self.user_from_rows(sql.fetch(_user_statement(), [pk]))
        return user if user is not None and super().user_can_authenticate(user) else None

    def session_join(self, session_alias: str) -> tuple[str, str, str]:
        """How the session store reads its user: the same columns and conditions as get_user."""
        selected, joins, human, order = _user_parts()
        table = get_user_model()._meta.db_table
        return selected, f"LEFT JOIN {table} u ON u.id = {session_alias}.user_id AND {human} {joins}", order

    def user_from_rows(self, rows: Sequence[Sequence[Any]]) -> Any:
        """The user from rows of `_user_parts` columns, or None; a guardian's family comes with it."""
        model = get_user_model()
        names = sql.concrete_names(model)
        if not rows or rows[0][0] is None:
            return None
        user = sql.read(model, names, rows[0][: len(names)])
        # A guardian login's family comes with it: the portal's pages start with it.
        setattr(user, FAMILY_ROWS, [row[len(names) :] for row in rows])
        return user


@lru_cache(maxsize=1)
def _user_parts() -> tuple[str, str, str, str]:
    """The user's columns then its family's, the family's joins, the condition that keeps system
    accounts out, and the family's order, for a user aliased `u`."""
    from feedesk.gateways.models import SystemAccount

    model = get_user_model()
    family, joins, order = family_columns("u")
    human = f"NOT EXISTS (SELECT 1 FROM {SystemAccount._meta.db_table} a WHERE a.user_id = u.id)"
    return f"{sql.columns(model, sql.concrete_names(model), 'u')}, {family}", joins, human, order


@lru_cache(maxsize=1)
def _user_statement() -> str:
    selected, joins, human, order = _user_parts()
    table = get_user_model()._meta.db_table
    return f"SELECT {selected} FROM {table} u {joins} WHERE u.id = %s AND {human} ORDER BY {order}"
