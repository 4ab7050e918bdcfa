import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# Import every view and build the API's schemas while the process starts (or, with gunicorn's
# --preload, once in the master), not during the first request each worker answers.
get_resolver().url_patterns  # noqa: B018
