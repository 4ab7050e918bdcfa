"""Health checks for a load balancer or process supervisor: is the process up, can it serve."""

from django.db import DatabaseError, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@never_cache
@require_safe
def liveness(request: HttpRequest) -> JsonResponse:
    """The process answers; nothing else is touched, so a slow database never restarts it."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readiness(request: HttpRequest) -> JsonResponse:
    """Every configured database answers; 503 takes this process out of rotation until it does."""
    unreachable = []
    for alias in connections:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            unreachable.append(alias)
    if unreachable:
        return JsonResponse({"status": "unavailable", "databases_unreachable": unreachable}, status=503)
    return JsonResponse({"status": "ok"})
