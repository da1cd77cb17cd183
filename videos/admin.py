from __future__ import annotations

from django.contrib import admin, messages
from django.urls import path
from django.utils.html import format_html

from caching.policies import THUMBNAIL
from videos import cdn, direct_uploads, files, upload_views
from videos.forms import DirectUploadVideoForm, VideoAdminForm
from videos.models import State, Video


def _edge_note() -> str:
    """Why replacing a thumbnail needs no invalidation, in the table's numbers."""
    directives = THUMBNAIL.directives
    fresh = int(directives["max-age"]) // 60
    stale = int(directives["stale-while-revalidate"]) // 60
    return (
        f"A replaced thumbnail keeps its URL ({THUMBNAIL.cache_control}). "
        f"Edges and browsers keep the old image for up to {fresh} minutes; "
        f"for {stale} more the edge answers with it at once while it fetches "
        f"the new one. So a replacement reaches everyone within about "
        f"{fresh + stale} minutes with no action. An invalidation makes the "
        "edge drop its copy now (browsers keep theirs until it expires); "
        "CloudFront charges per path past the first 1,000 paths a month."
    )


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    form = VideoAdminForm
    list_display = [
        "title",
        "preview",
        "file_state",
        "is_published",
        "published_at",
        "duration",
        "size",
    ]
    list_filter = ["is_published", "state"]
    # The file column reads each video's upload.
    list_select_related = ["upload"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = [
        "stored_as",
        "file_state",
        "sha256",
        "size",
        "duration",
        "preview",
    ]
    actions = ["publish", "unpublish", "refresh_thumbnails"]

    def get_form(self, request, obj=None, **kwargs):
        if files.is_s3(files.video_storage()):
            kwargs["form"] = DirectUploadVideoForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        video_field = (
            "upload_reference" if files.is_s3(files.video_storage()) else "file"
        )
        return [
            (None, {"fields": ["title", "slug", "description"]}),
            ("Video file", {"fields": [video_field, "stored_as", "file_state"]}),
            (
                "Thumbnail",
                {"fields": ["thumbnail", "preview"], "description": _edge_note()},
            ),
            ("Publishing", {"fields": ["is_published", "published_at"]}),
            ("Measured on upload", {"fields": ["sha256", "size", "duration"]}),
        ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not cdn.configured():
            actions.pop("refresh_thumbnails", None)
        return actions

    def get_urls(self):
        view = self.admin_site.admin_view
        uploads = [
            ("", upload_views.start, "start"),
            ("<uuid:upload_id>/", upload_views.status, "status"),
            ("<uuid:upload_id>/parts/", upload_views.sign, "sign"),
            ("<uuid:upload_id>/complete/", upload_views.complete, "complete"),
            ("<uuid:upload_id>/abort/", upload_views.abort, "abort"),
        ]
        return [
            *(
                path(f"uploads/{route}", view(handler), name=f"videos_upload_{name}")
                for route, handler, name in uploads
            ),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change):
        upload = getattr(obj, "_pending_upload", None)
        if upload is None:
            super().save_model(request, obj, form, change)
        else:
            direct_uploads.attach(obj, upload)

    @admin.display(description="file")
    def file_state(self, video: Video) -> str:
        if video._state.adding:
            return "not uploaded yet"
        if video.state == State.FAILED or (video.failure and video.file):
            return format_html("{}: {}", video.get_state_display(), video.failure)
        pending = video.upload_id and video.upload.state == State.PROCESSING
        if pending and video.file:
            return "ready; a new file is processing"
        return video.get_state_display()

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
        for video in queryset.filter(is_published=False, state=State.READY):
            video.publish()
            video.save(update_fields=["is_published", "published_at", "updated_at"])
            count += 1
        self.message_user(request, f"Published {count} video(s).", messages.SUCCESS)
        waiting = queryset.exclude(state=State.READY).count()
        if waiting:
            self.message_user(
                request,
                f"{waiting} video(s) not published: their file is not ready.",
                messages.WARNING,
            )

    @admin.action(description="Refresh the selected thumbnails at the edge now")
    def refresh_thumbnails(self, request, queryset) -> None:
        paths = ["/" + v.thumbnail.name for v in queryset if v.thumbnail]
        if not paths:
            self.message_user(request, "No thumbnails to refresh.", messages.WARNING)
            return
        try:
            invalidation = cdn.invalidate(paths)
        except cdn.InvalidationFailed as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        self.message_user(
            request,
            f"CloudFront invalidation {invalidation} started for "
            f"{len(paths)} path(s); edges fetch the new image within minutes.",
            messages.SUCCESS,
        )

    @admin.action(description="Unpublish the selected videos")
    def unpublish(self, request, queryset) -> None:
        count = queryset.filter(is_published=True).update(is_published=False)
        self.message_user(request, f"Unpublished {count} video(s).", messages.SUCCESS)
