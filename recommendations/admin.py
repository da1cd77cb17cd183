from __future__ import annotations

from django.contrib import admin

from recommendations.models import Favorite, WatchHistory


class SignalAdmin(admin.ModelAdmin):
    """Viewers make these rows; staff may look and remove, not invent them."""

    list_select_related = ["user", "video"]
    search_fields = ["user__username", "video__title"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Favorite)
class FavoriteAdmin(SignalAdmin):
    list_display = ["user", "video", "created_at"]


@admin.register(WatchHistory)
class WatchHistoryAdmin(SignalAdmin):
    list_display = ["user", "video", "position", "watched_at"]
