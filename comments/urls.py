from django.urls import path

from comments import api

app_name = "comments"

urlpatterns = [
    path("api/comments/", api.comments, name="list"),
    path("api/comments/<int:pk>/", api.comment, name="detail"),
]
