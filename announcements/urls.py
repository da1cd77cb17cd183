from django.urls import path

from announcements import views

app_name = "announcements"

urlpatterns = [
    path("announcements/", views.index, name="index"),
    path("announcements/<slug:slug>/", views.detail, name="detail"),
]
