from __future__ import annotations

from django.contrib import admin

from announcements.models import Announcement


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = ["title", "starts_at", "ends_at", "is_live"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "starts_at"

    @admin.display(boolean=True, description="shown now")
    def is_live(self, announcement: Announcement) -> bool:
        return announcement.is_live()
