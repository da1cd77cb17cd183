"""Site-wide views: error pages, the CSRF failure page and static files."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import Http404
from django.views import csrf, defaults
from django.views.decorators.http import require_safe

from caching.decorators import cache_policy
from caching.policies import ERROR, STATIC, STATIC_UNHASHED
from videos.serving import serve_file

bad_request = cache_policy(ERROR)(defaults.bad_request)
permission_denied = cache_policy(ERROR)(defaults.permission_denied)
page_not_found = cache_policy(ERROR)(defaults.page_not_found)
server_error = cache_policy(ERROR)(defaults.server_error)
csrf_failure = cache_policy(ERROR)(csrf.csrf_failure)


def _hashed_names() -> frozenset[str]:
    return frozenset(getattr(staticfiles_storage, "hashed_files", {}).values())


@cache_policy(STATIC)
@require_safe
def static(request, path: str):
    """Serve collected static files; only hashed names are immutable."""
    policy = STATIC if path in _hashed_names() else STATIC_UNHASHED
    if settings.DEBUG:
        # Straight from the apps' folders, so an edited file shows at once.
        found = finders.find(path)
        if not found:
            raise Http404("No such static file.")
        found = Path(found)
        return serve_file(request, found.parent, found.name, policy)
    return serve_file(request, Path(settings.STATIC_ROOT), path, policy)
