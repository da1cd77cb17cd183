"""Site-wide views: error pages, the CSRF failure page and static files."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import Http404
from django.views import csrf, defaults
from django.views.decorators.http import require_safe

from caching.decorators import cache_policy
from caching.policies import ERROR, STATIC, STATIC_UNHASHED
from config.json_api import error_response
from videos.serving import serve_file

bad_request = cache_policy(ERROR)(defaults.bad_request)
permission_denied = cache_policy(ERROR)(defaults.permission_denied)
page_not_found = cache_policy(ERROR)(defaults.page_not_found)
server_error = cache_policy(ERROR)(defaults.server_error)


@cache_policy(ERROR)
def csrf_failure(request, reason: str = ""):
    """The API answers in JSON, like every other refusal it makes."""
    if request.path.startswith("/api/"):
        return error_response(
            HTTPStatus.FORBIDDEN,
            f"CSRF check failed: {reason} Send the csrftoken cookie's value "
            "in an X-CSRFToken header.",
        )
    return csrf.csrf_failure(request, reason)


@cache_policy(STATIC)
@require_safe
def static(request, path: str):
    """Serve collected static files; only hashed names are immutable."""
    # The manifest maps plain names to hashed ones; only the latter never
    # change behind their URL.
    hashed = getattr(staticfiles_storage, "hashed_files", {}).values()
    policy = STATIC if path in hashed else STATIC_UNHASHED
    if settings.DEBUG:
        # Straight from the apps' folders, so an edited file shows at once.
        found = finders.find(path)
        if not found:
            raise Http404("No such static file.")
        found = Path(found)
        return serve_file(request, found.parent, found.name, policy)
    return serve_file(request, Path(settings.STATIC_ROOT), path, policy)
