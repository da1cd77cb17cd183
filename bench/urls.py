"""The site's URLs plus a bare JSON view: the floor the APIs are measured against."""

from django.http import JsonResponse
from django.urls import include, path

from caching.decorators import cache_policy
from caching.policies import RECOMMENDATIONS


@cache_policy(RECOMMENDATIONS)
def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/bare/", bare),
    path("", include("config.urls")),
]
