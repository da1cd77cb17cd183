from django.urls import path

from videos import views

app_name = "videos"

urlpatterns = [
    path("", views.home, name="home"),
    path("videos/<slug:slug>/", views.detail, name="detail"),
]
