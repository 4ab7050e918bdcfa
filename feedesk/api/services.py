"""API tokens and idempotency-key bookkeeping."""

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from feedesk.api.models import ApiToken, IdempotencyKey
from feedesk.audit.services import record_audit
from feedesk.core import sql
from feedesk.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from feedesk.organizations.models import Organization
from feedesk.users.models import User

TOKEN_PREFIX = "fd_"
PREFIX_LENGTH = 10
KEY_RETENTION = datetime.timedelta(hours=24)
MAX_KEY_LENGTH = 255


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_api_token(*, actor: User | None, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns it with the secret, which is shown this once only.

    Staff create tokens for themselves (`actor` is the user); the management command has no actor.
    """
    if actor is not None and actor.pk != user.pk:
        raise PermissionDenied(_("You can only create tokens for yourself."))
    if user.organization_id is None or not user.is_active:
        raise ValidationFailed(_("Only active staff of a school can have API tokens."), code="user_invalid")
    name = name.strip()
    if not name:
        raise ValidationFailed(_("Give the token a name."), code="name_required")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organization_id=user.organization_id,
        user=user,
        name=name[:100],
        prefix=raw[:PREFIX_LENGTH],
        token_hash=hash_token(raw),
    )
    record_audit(actor=actor, action="api_token.created", target=token, data={"name": token.name})
    return token, raw


@transaction.atomic
def revoke_api_token(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke one of the actor's own tokens; it stops working at once."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != actor.pk:
        raise NotFound(_("Not found."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_audit(actor=actor, action="api_token.revoked", target=token, data={"name": token.name})
    return token


@lru_cache(maxsize=1)
def _token_lookup_sql() -> str:
    """One statement for the whole lookup: token, user, organization and the user's campuses."""
    user_table, org_table = User._meta.db_table, Organization._meta.db_table
    campus_link = User.campuses.through._meta.db_table
    return (
        f"SELECT {sql.columns(ApiToken, _TOKEN_FIELDS, 't')}, {sql.columns(User, _USER_FIELDS, 'u')}, "
        f"{sql.columns(Organization, _ORG_FIELDS, 'o')}, uc.campus_id "
        f"FROM {ApiToken._meta.db_table} t "
        f"JOIN {user_table} u ON u.id = t.user_id "
        f"JOIN {org_table} o ON o.id = t.organization_id "
        f"LEFT JOIN {campus_link} uc ON uc.user_id = u.id "
        "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.is_active "
        "AND u.organization_id = t.organization_id"
    )


_TOKEN_FIELDS = ("id", "last_used_at")
# What a request acts with; the rest (the password hash, say) loads only if something asks.
_USER_FIELDS = (
    "id",
    "username",
    "first_name",
    "last_name",
    "display_name",
    "organization_id",
    "role",
    "language",
    "is_active",
    "is_staff",
    "is_superuser",
)
_ORG_FIELDS = ("id", "name", "slug", "currency", "timezone", "default_due_days")


def authenticate_token(raw: str) -> User | None:
    """The active user a presented token acts as (organization and campus limits loaded), or None.

    Every API request runs this, so it is one statement rather than three ORM queries.
    """
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    rows = sql.fetch(_token_lookup_sql(), [hash_token(raw)])
    if not rows:
        return None
    token: ApiToken = sql.read(ApiToken, _TOKEN_FIELDS, rows[0][:2])
    split = 2 + len(_USER_FIELDS)
    user: User = sql.read(User, _USER_FIELDS, rows[0][2:split])
    organization = sql.read(Organization, _ORG_FIELDS, rows[0][split : split + len(_ORG_FIELDS)])
    sql.cache_related(user, "organization", organization)
    user._campus_ids = {row[-1] for row in rows if row[-1] is not None} or None
    now = timezone.now()
    # Note use at most once a minute so reads do not each write.
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return user


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    http_status = 422


def key_lock_id(user_id: int, key: str) -> int:
    """A signed 64-bit advisory-lock id for (user, key); a collision only answers 409 to a retry."""
    digest = hashlib.sha256(f"idempotency:{user_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def check_idempotency_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            _("An Idempotency-Key must be 1 to 255 characters long."), code="idempotency_key_invalid"
        )


def begin_keyed_request(*, user: User, key: str, fingerprint: str) -> StoredResponse | None:
    """Inside the request's transaction: take the key, or return the response stored for it.

    Raises Conflict (409) while another request holds the key and IdempotencyKeyReused (422) when
    it was used for a different request. On PostgreSQL the key is held by a transaction-scoped
    advisory lock, so a duplicate is refused at once; SQLite's writers take the database's one
    write lock at BEGIN, so a duplicate waits for the first to commit and then replays it.
    """
    if connection.vendor == "postgresql":
        [(taken,)] = sql.fetch("SELECT pg_try_advisory_xact_lock(%s)", [key_lock_id(user.pk, key)])
        if not taken:
            raise Conflict(
                _("A request with this Idempotency-Key is still being processed; retry shortly."),
                code="idempotency_in_progress",
            )
    # A new statement, so it sees a first request that committed before the lock was granted.
    rows = sql.fetch(_stored_sql(), [user.pk, key])
    if not rows:
        return None
    stored: IdempotencyKey = sql.read(IdempotencyKey, _STORED_FIELDS, rows[0])
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused(_("This Idempotency-Key was already used for a different request."))
    return StoredResponse(
        status=stored.response_status,
        body=bytes(stored.response_body),
        content_type=stored.response_content_type,
    )


_STORED_FIELDS = ("fingerprint", "response_status", "response_body", "response_content_type")
_KEY_FIELDS = (
    "organization_id",
    "user_id",
    "key",
    "method",
    "path",
    "fingerprint",
    "response_status",
    "response_body",
    "response_content_type",
    "created_at",
)


@lru_cache(maxsize=1)
def _stored_sql() -> str:
    return (
        f"SELECT {sql.columns(IdempotencyKey, _STORED_FIELDS, 'k')} FROM {IdempotencyKey._meta.db_table} k "
        "WHERE k.user_id = %s AND k.key = %s"
    )


def response_record(
    *, user: User, key: str, method: str, path: str, fingerprint: str, response: StoredResponse
) -> sql.Statement:
    """The statement that records the key with its response, to be replayed: run in the
    transaction that did the work (by itself, or with the work's own last statement)."""
    return sql.insert_statement(
        IdempotencyKey,
        _KEY_FIELDS,
        [
            (
                user.tenant_id,
                user.pk,
                key,
                method,
                path[:500],
                fingerprint,
                response.status,
                response.body,
                response.content_type,
                timezone.now(),
            )
        ],
    )


def purge_idempotency_keys(*, older_than: datetime.timedelta = KEY_RETENTION) -> int:
    """Delete keys older than `older_than` (at least 24 hours); safe to re-run."""
    if older_than < KEY_RETENTION:
        raise ValidationFailed(_("Keys are kept at least 24 hours."), code="retention_too_short")
    cutoff = timezone.now() - older_than
    deleted, _per_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
