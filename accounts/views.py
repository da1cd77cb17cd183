"""Signing up, in and out, and the signed-in person's own page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_safe

from accounts import personal
from caching.decorators import cache_policy
from caching.policies import ACCOUNT, PERSONAL

# Django's views mark their answers never_cache; the policy replaces that
# header with the table's value.
signin = cache_policy(ACCOUNT)(
    auth_views.LoginView.as_view(template_name="accounts/signin.html")
)
# POST only (Django's LogoutView): a link or a prefetch must not sign anyone out.
signout = cache_policy(ACCOUNT)(auth_views.LogoutView.as_view())


@cache_policy(ACCOUNT)
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "HEAD", "POST"])
def signup(request):
    form = UserCreationForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        user = form.save()
        login(request, user)
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/signup.html", {"form": form})


@cache_policy(PERSONAL)
@login_required
@require_safe
def me(request):
    return render(
        request,
        "accounts/me.html",
        {
            "favorites": personal.favorites(request.user),
            "history": personal.history(request.user),
        },
    )
