from django.urls import path

from recommendations import api

app_name = "recommendations"

urlpatterns = [
    path("api/recommendations/", api.recommendations, name="api"),
]
