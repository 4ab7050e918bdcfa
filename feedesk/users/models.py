from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils.translation import gettext_lazy as _

from feedesk.core.permissions import Role

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase


class User(AbstractUser):
    """A staff member of one organization, with one role and optionally limited campuses."""

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    campuses = models.ManyToManyField(
        "organizations.Campus",
        blank=True,
        verbose_name=_("campuses"),
        help_text=_("Leave empty for access to every campus."),
    )
    language = models.CharField(
        _("language"), max_length=10, blank=True, choices=[("zh-hans", "简体中文"), ("en", "English")]
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def campus_ids(self) -> set[int] | None:
        """The campuses this user is limited to, or None when not limited."""
        if not hasattr(self, "_campus_ids"):
            ids = set(self.campuses.values_list("pk", flat=True)) if self.pk else set()
            self._campus_ids: set[int] | None = ids or None
        return self._campus_ids

    @property
    def tenant_id(self) -> int:
        """The user's organization id; staff without one cannot reach tenant data."""
        if self.organization_id is None:
            from feedesk.core.errors import PermissionDenied

            raise PermissionDenied("This account belongs to no organization.")
        return self.organization_id

    def can_access_campus(self, campus_id: int | None) -> bool:
        limited = self.campus_ids()
        return limited is None or campus_id in limited


class UserSession(AbstractBaseSession):
    """A database session that names its signed-in user, so that one statement loads both."""

    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    @classmethod
    def get_session_store_class(cls) -> type["SessionBase"]:
        from feedesk.users.sessions import SessionStore

        return SessionStore
