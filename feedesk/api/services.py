"""API tokens and idempotency-key bookkeeping."""

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from feedesk.api.models import ApiToken, IdempotencyKey
from feedesk.audit.services import record_audit
from feedesk.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from feedesk.users.models import User

TOKEN_PREFIX = "fd_"
PREFIX_LENGTH = 10
# Long enough for any request; a claim whose runner died is retaken after it.
CLAIM_LEASE = datetime.timedelta(seconds=60)
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


def authenticate_token(raw: str) -> User | None:
    """The active user a presented token acts as, or None."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__organization")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active or token.user.organization_id != token.organization_id:
        return None
    now = timezone.now()
    # Note use at most once a minute so reads do not each write.
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


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


@dataclass(frozen=True)
class Claim:
    """This request owns the key: run the work and call `complete_claim` in the same transaction."""

    pk: int
    token: str


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    http_status = 422


def _in_progress() -> Conflict:
    return Conflict(
        _("A request with this Idempotency-Key is still being processed; retry shortly."),
        code="idempotency_in_progress",
    )


def claim_key(*, user: User, key: str, method: str, path: str, fingerprint: str) -> Claim | StoredResponse:
    """Claim `key` for this request, or return the stored response of the request that used it.

    Commits on its own: the claim must be visible to other requests before the work starts.
    Raises Conflict (409) while another request holds the key and ValidationFailed (422) when the
    key was used for a different request.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            _("An Idempotency-Key must be 1 to 255 characters long."), code="idempotency_key_invalid"
        )
    now = timezone.now()
    claim_token = secrets.token_hex(16)
    try:
        with transaction.atomic():
            row = IdempotencyKey.objects.create(
                organization_id=user.tenant_id,
                user=user,
                key=key,
                method=method,
                path=path[:500],
                fingerprint=fingerprint,
                claim_token=claim_token,
                lease_until=now + CLAIM_LEASE,
                created_at=now,
            )
        return Claim(pk=row.pk, token=claim_token)
    except IntegrityError:
        pass
    existing = IdempotencyKey.objects.filter(user=user, key=key).first()
    if existing is None:
        # Purged between our insert and our read; the client may simply retry.
        raise _in_progress()
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused(_("This Idempotency-Key was already used for a different request."))
    if existing.state == IdempotencyKey.State.DONE:
        return _stored(existing)
    if existing.lease_until > now:
        raise _in_progress()
    try:
        with transaction.atomic():
            # NOWAIT: the row stays locked while its work runs, so a lock error means in progress.
            existing = IdempotencyKey.objects.select_for_update(nowait=True).get(pk=existing.pk)
            if existing.state == IdempotencyKey.State.DONE:
                return _stored(existing)
            if existing.lease_until > now:
                raise _in_progress()
            # The first runner died before finishing (its work rolled back with it): take over.
            existing.claim_token = claim_token
            existing.lease_until = now + CLAIM_LEASE
            existing.save(update_fields=["claim_token", "lease_until"])
            return Claim(pk=existing.pk, token=claim_token)
    except IdempotencyKey.DoesNotExist:
        raise _in_progress() from None
    except DatabaseError:
        raise _in_progress() from None


def _stored(row: IdempotencyKey) -> StoredResponse:
    assert row.response_status is not None
    return StoredResponse(
        status=row.response_status,
        body=bytes(row.response_body or b""),
        content_type=row.response_content_type,
    )


def lock_claim(claim: Claim) -> bool:
    """Inside the work's transaction: hold the claim row until commit; False if it was retaken."""
    return (
        IdempotencyKey.objects.select_for_update()
        .filter(pk=claim.pk, claim_token=claim.token, state=IdempotencyKey.State.IN_PROGRESS)
        .first()
        is not None
    )


def complete_claim(claim: Claim, response: StoredResponse) -> None:
    """Inside the work's transaction: store the response and mark the key done."""
    IdempotencyKey.objects.filter(pk=claim.pk, claim_token=claim.token).update(
        state=IdempotencyKey.State.DONE,
        response_status=response.status,
        response_body=response.body,
        response_content_type=response.content_type,
        completed_at=timezone.now(),
    )


def release_claim(claim: Claim) -> None:
    """The work failed unexpectedly and was rolled back: free the key so the client can retry."""
    IdempotencyKey.objects.filter(
        pk=claim.pk, claim_token=claim.token, state=IdempotencyKey.State.IN_PROGRESS
    ).delete()


def purge_idempotency_keys(*, older_than: datetime.timedelta = KEY_RETENTION) -> int:
    """Delete keys older than `older_than` (at least 24 hours); safe to re-run."""
    if older_than < KEY_RETENTION:
        raise ValidationFailed(_("Keys are kept at least 24 hours."), code="retention_too_short")
    cutoff = timezone.now() - older_than
    deleted, _per_model = (
        IdempotencyKey.objects.filter(created_at__lt=cutoff)
        .exclude(state=IdempotencyKey.State.IN_PROGRESS, lease_until__gt=timezone.now())
        .delete()
    )
    return deleted
