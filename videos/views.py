from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from caching.decorators import cache_policy
from caching.policies import PAGE
from videos.models import Video

PER_PAGE = 12

# These pages are the same for every visitor, so a shared cache may keep
# them: they must never read the session or the signed-in user.


@cache_policy(PAGE)
@require_safe
def home(request):
    paginator = Paginator(Video.objects.published(), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "videos/home.html", {"page": page})


@cache_policy(PAGE)
@require_safe
def detail(request, slug: str):
    video = get_object_or_404(Video.objects.published(), slug=slug)
    return render(request, "videos/detail.html", {"video": video})
