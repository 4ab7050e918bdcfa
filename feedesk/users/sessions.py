"""Database sessions, read with one lean statement: every signed-in request loads its session."""

from functools import lru_cache
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from feedesk.core import sql


class SessionStore(DatabaseSessionStore):
    """Django's database sessions; only the read on each request skips building an ORM query."""

    def _get_session_from_db(self) -> Any:
        names, statement = _load_statement()
        now = Session._meta.get_field("expire_date").get_db_prep_value(timezone.now(), connection)
        rows = sql.fetch(statement, [self.session_key, now])
        if not rows:
            self._session_key = None
            return None
        return sql.read(Session, names, rows[0])


@lru_cache(maxsize=1)
def _load_statement() -> tuple[tuple[str, ...], str]:
    names = sql.concrete_names(Session)
    return names, (
        f"SELECT {sql.columns(Session, names, 's')} FROM {Session._meta.db_table} s "
        "WHERE s.session_key = %s AND s.expire_date > %s"
    )
