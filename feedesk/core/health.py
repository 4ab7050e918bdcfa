"""Health checks for a load balancer or process supervisor: is the process up, can it serve."""

from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

# Aliases whose database has every migration this code ships: applied migrations stay applied,
# so each process checks (reading the migration files) only until the answer is yes.
_migrated: set[str] = set()


@never_cache
@require_safe
def liveness(request: HttpRequest) -> JsonResponse:
    """The process answers; nothing else is touched, so a slow database never restarts it."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readiness(request: HttpRequest) -> JsonResponse:
    """Every configured database answers and has this code's migrations; otherwise 503, which
    keeps the process out of rotation (a new release started before `migrate`, say)."""
    unreachable, unmigrated = [], []
    for alias in connections:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
            if alias not in _migrated:
                if _has_unapplied_migrations(alias):
                    unmigrated.append(alias)
                else:
                    _migrated.add(alias)
        except DatabaseError:
            unreachable.append(alias)
    if unreachable or unmigrated:
        answer = {"status": "unavailable", "databases_unreachable": unreachable}
        return JsonResponse({**answer, "databases_unmigrated": unmigrated}, status=503)
    return JsonResponse({"status": "ok"})


def _has_unapplied_migrations(alias: str) -> bool:
    executor = MigrationExecutor(connections[alias])
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
