from django.contrib import admin
from django.urls import include, path

from caching.decorators import with_policy
from caching.policies import ADMIN
from config import views
from videos import serving

admin_patterns, admin_app, admin_namespace = admin.site.urls

urlpatterns = [
    path("", include("videos.urls")),
    path("", include("announcements.urls")),
    path("", include("comments.urls")),
    path("", include("recommendations.urls")),
    path("", include("accounts.urls")),
    path("", include("lab.urls")),
    path("admin/", (with_policy(admin_patterns, ADMIN), admin_app, admin_namespace)),
    path("static/<path:path>", views.static, name="static"),
    path("media/<path:path>", serving.media, name="media"),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error
