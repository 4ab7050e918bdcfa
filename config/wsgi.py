import os

import django
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from feedesk.core.handlers import RoutedWSGIApplication  # noqa: E402  (needs the apps loaded)

application = RoutedWSGIApplication()
# Import every view and build the API's schemas while the process starts (or, with gunicorn's
# --preload, once in the master), not during the first request each worker answers.
get_resolver().url_patterns  # noqa: B018
