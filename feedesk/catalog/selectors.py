from django.db.models import Count, Q, QuerySet

from feedesk.catalog.models import ClassGroup
from feedesk.users.models import User


def classes_visible_to(user: User) -> QuerySet[ClassGroup]:
    qs = ClassGroup.objects.filter(organization_id=user.tenant_id)
    campus_ids = user.campus_ids()
    if campus_ids is not None:
        qs = qs.filter(campus_id__in=campus_ids)
    return qs


def classes_with_seats(user: User) -> QuerySet[ClassGroup]:
    from feedesk.enrolment.models import Enrolment

    return (
        classes_visible_to(user)
        .filter(is_active=True)
        .select_related("course", "course__subject", "campus", "instructor")
        .prefetch_related("schedule")
        .annotate(enrolled=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.ACTIVE)))
        .order_by("course__subject__name", "name")
    )
