"""Staff pages to create, list and revoke one's own API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from feedesk.api.models import ApiToken
from feedesk.api.services import create_api_token, revoke_api_token
from feedesk.core.errors import DomainError
from feedesk.users.models import User


def _page(
    request: HttpRequest, user: User, *, new_token: str | None = None, status: int = 200
) -> HttpResponse:
    tokens = ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")
    return render(request, "api/tokens.html", {"tokens": tokens, "new_token": new_token}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if request.method == "POST":
        try:
            _token, raw = create_api_token(actor=user, user=user, name=request.POST.get("name", ""))
        except DomainError as exc:
            messages.error(request, str(exc))
            return _page(request, user, status=400)
        # Rendered, not redirected: the secret is shown on this response only and never again.
        return _page(request, user, new_token=raw)
    return _page(request, user)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    token = get_object_or_404(ApiToken, pk=pk, user=user)
    revoke_api_token(actor=user, token=token)
    messages.success(request, _("Token %(prefix)s… revoked.") % {"prefix": token.prefix})
    return redirect("api-tokens:list")
