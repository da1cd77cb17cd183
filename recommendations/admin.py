from __future__ import annotations

from django.contrib import admin

from recommendations.models import Favorite, RecommendationList, WatchHistory


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


@admin.register(RecommendationList)
class RecommendationListAdmin(admin.ModelAdmin):
    """Lists are written by refreshrecommendations alone: staff only look."""

    list_display = ["for_video", "length", "computed_at"]
    list_select_related = ["video"]
    ordering = ["video__title"]
    fields = ["for_video", "computed_at", "slugs"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="for", ordering="video__title")
    def for_video(self, obj: RecommendationList) -> str:
        return str(obj.video) if obj.video else "Everyone (popular now)"

    @admin.display(description="videos")
    def length(self, obj: RecommendationList) -> int:
        return len(obj.payload)

    @admin.display(description="in order")
    def slugs(self, obj: RecommendationList) -> str:
        return ", ".join(item["slug"] for item in obj.payload)
