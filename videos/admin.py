from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from videos.forms import VideoAdminForm
from videos.models import Video


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    form = VideoAdminForm
    list_display = [
        "title",
        "preview",
        "is_published",
        "published_at",
        "duration",
        "size",
    ]
    list_filter = ["is_published"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["stored_as", "sha256", "size", "duration", "preview"]
    actions = ["publish", "unpublish"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "description"]}),
        ("Files", {"fields": ["file", "stored_as", "thumbnail", "preview"]}),
        ("Publishing", {"fields": ["is_published", "published_at"]}),
        ("Measured on upload", {"fields": ["sha256", "size", "duration"]}),
    ]

    @admin.display(description="thumbnail")
    def preview(self, video: Video) -> str:
        if not video.thumbnail:
            return "none"
        return format_html(
            '<img src="{}" alt="" width="160" height="90">', video.thumbnail.url
        )

    @admin.display(description="stored as")
    def stored_as(self, video: Video) -> str:
        if not video.file:
            return "not uploaded yet"
        return format_html('<a href="{}">{}</a>', video.file.url, video.file.name)

    @admin.action(description="Publish the selected videos")
    def publish(self, request, queryset) -> None:
        count = 0
        for video in queryset.filter(is_published=False):
            video.publish()
            video.save(update_fields=["is_published", "published_at", "updated_at"])
            count += 1
        self.message_user(request, f"Published {count} video(s).", messages.SUCCESS)

    @admin.action(description="Unpublish the selected videos")
    def unpublish(self, request, queryset) -> None:
        count = queryset.filter(is_published=True).update(is_published=False)
        self.message_user(request, f"Unpublished {count} video(s).", messages.SUCCESS)
