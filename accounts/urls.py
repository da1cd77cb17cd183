from django.urls import path

from accounts import api, views

app_name = "accounts"

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/signin/", views.signin, name="signin"),
    path("accounts/signout/", views.signout, name="signout"),
    path("me/", views.me, name="me"),
    path("api/me/", api.me, name="api-me"),
    path("api/me/favorites/", api.favorites, name="api-favorites"),
    path("api/me/favorites/<slug:slug>/", api.favorite, name="api-favorite"),
    path("api/me/history/", api.history, name="api-history"),
]
