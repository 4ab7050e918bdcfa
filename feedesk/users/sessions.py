"""Database sessions that bring their signed-in user: every signed-in request loads both.

The session row names its user (`UserSession.user`), so the statement that reads the session
also reads the user, through the authentication backend's own columns and conditions when it
offers them (`session_join`). The backend then takes that user instead of reading it again
(`user_loaded_with_session`), for the one request whose session loaded it.
"""

from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth import SESSION_KEY, load_backend
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connection
from django.utils import timezone

from feedesk.core import sql
from feedesk.users.models import UserSession


class SessionUserLoader(Hashable, Protocol):
    """What an authentication backend offers to be read with the session."""

    def session_join(self, session_alias: str) -> tuple[str, str, str]:
        """The user's select list, the joins from the session (`session_alias`.user_id) and ORDER BY."""
        ...

    def user_from_rows(self, rows: Sequence[Sequence[Any]]) -> Any:
        """The user read from those columns (one row or more), or None when there is none."""
        ...


NOT_LOADED = object()

# The session of the request whose user is being found (set around auth.get_user only).
_request_session: ContextVar["SessionStore | None"] = ContextVar("feedesk_request_session", default=None)


class SessionStore(DatabaseSessionStore):
    """Django's database sessions, read with their user in one lean statement."""

    # (user id, user or None) as read with the session; None until a signed-in session is read.
    loaded_user: tuple[int, Any] | None = None

    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        session = super().create_model_instance(data)
        assert isinstance(session, UserSession)
        session.user_id = _user_pk(data.get(SESSION_KEY))
        return session

    def flush(self) -> None:
        self.loaded_user = None
        super().flush()

    def _get_session_from_db(self) -> Any:
        loader = _user_loader()
        names, statement = _load_statement(loader)
        now = UserSession._meta.get_field("expire_date").get_db_prep_value(timezone.now(), connection)
        rows = sql.fetch(statement, [self.session_key, now])
        if not rows:
            self._session_key = None
            return None
        session = sql.read(UserSession, names, rows[0][: len(names)])
        if loader is not None and session.user_id is not None:
            self.loaded_user = (session.user_id, loader.user_from_rows([row[len(names) :] for row in rows]))
        return session


def _user_pk(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=4)
def _backend_loader(path: str) -> SessionUserLoader | None:
    backend = load_backend(path)
    return backend if hasattr(backend, "session_join") and hasattr(backend, "user_from_rows") else None


def _user_loader() -> SessionUserLoader | None:
    # Only with a single backend: with several, the session's own backend decides who the user is.
    backends = settings.AUTHENTICATION_BACKENDS
    return _backend_loader(backends[0]) if len(backends) == 1 else None


@lru_cache(maxsize=4)
def _load_statement(loader: SessionUserLoader | None) -> tuple[tuple[str, ...], str]:
    names = sql.concrete_names(UserSession)
    selected, joins, order = "", "", ""
    if loader is not None:
        user_columns, joins, order_by = loader.session_join("sess")
        selected, order = f", {user_columns}", f" ORDER BY {order_by}"
    return names, (
        f"SELECT {sql.columns(UserSession, names, 'sess')}{selected} FROM {UserSession._meta.db_table} sess "
        f"{joins} WHERE sess.session_key = %s AND sess.expire_date > %s{order}"
    )


@contextmanager
def finding_user_of(session: Any) -> Iterator[None]:
    """While the request's user is found: the user read with `session` may be taken."""
    token = _request_session.set(session if isinstance(session, SessionStore) else None)
    try:
        yield
    finally:
        _request_session.reset(token)


def user_loaded_with_session(user_pk: Any) -> Any:
    """The user (or None) read with the current request's session when it is `user_pk`, else NOT_LOADED."""
    session = _request_session.get()
    loaded = session.loaded_user if session is not None else None
    if loaded is None or loaded[0] != user_pk:
        return NOT_LOADED
    return loaded[1]
