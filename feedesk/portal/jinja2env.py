"""The Jinja2 environment of the family portal's pages (feedesk/portal/jinja2/portal/).

The portal's pages are rendered by Django's Jinja2 backend (settings.TEMPLATES); these are the
names its templates use in place of the template tags and filters they had in the Django
template language. Django's backend adds `request`, `csrf_input` and `csrf_token` to every page;
`csrf` below makes them one token a page.
"""

from collections.abc import Callable
from datetime import date as Date
from datetime import datetime, time
from functools import lru_cache, partial, wraps
from typing import Any

import jinja2
from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template import defaultfilters
from django.template.backends.utils import csrf_input
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in the stubs
from django.utils.translation import get_language, gettext

from feedesk.portal.templatetags.portal_tags import hours, major, mark_status, money

When = Date | datetime | time | str | None


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """{{ url('portal:receipt', payment.pk) }}: what {% url %} gave.

    Kept by everything the answer depends on: a page asks for a dozen, each about 35 µs to
    reverse, and most are the same on every page (the tabs, the forms' actions)."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return _reversed(get_script_prefix(), urlconf, name, args, tuple(sorted(kwargs.items())))


@lru_cache(maxsize=4096)
def _reversed(
    prefix: str, urlconf: str, name: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]
) -> str:
    return reverse(name, urlconf=urlconf, args=args or None, kwargs=dict(kwargs) or None)


def csrf(request: HttpRequest) -> dict[str, Any]:
    """A context processor: the page's CSRF token, masked once for all its forms when first used.

    Django's backend masks the token anew at each {{ csrf_input }}, a random string each time:
    the longest part of rendering a page with many forms. Django templates mask it once a page.
    """
    return {
        "csrf_input": SimpleLazyObject(partial(csrf_input, request)),
        "csrf_token": SimpleLazyObject(partial(get_token, request)),
    }


def _in_local_time(django_filter: Callable[[Any, str | None], str]) -> Callable[[When, str | None], str]:
    """Django's `date` and `time` filters, shown the value in the current time zone as in templates."""

    @wraps(django_filter)
    def apply(value: When, arg: str | None = None) -> str:
        return django_filter(template_localtime(value), arg)

    return apply


def environment(**options: Any) -> jinja2.Environment:
    # A name a view does not pass prints as nothing, as in the Django template language, even with
    # DEBUG (where Django's backend would otherwise print it as "{{ name }}"); and a template's
    # last newline is kept, so pages come out byte for byte as before.
    options["undefined"] = jinja2.Undefined
    options.setdefault("keep_trailing_newline", True)
    env = jinja2.Environment(**options)
    env.globals.update(
        url=url,
        static=static,
        _=gettext,
        gettext=gettext,
        get_language=get_language,
        get_messages=get_messages,
    )
    env.filters.update(
        date=_in_local_time(defaultfilters.date),
        time=_in_local_time(defaultfilters.time),
        linebreaksbr=defaultfilters.linebreaksbr,
        money=money,
        major=major,
        hours=hours,
        mark_status=mark_status,
    )
    return env
