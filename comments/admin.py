from __future__ import annotations

from django.contrib import admin, messages
from django.db import models, transaction
from django.template.defaultfilters import truncatechars

from comments.models import Comment, touch_videos

# Every change made here bumps the videos' comments_version, or the comments
# API would keep answering 304 for lists that no longer hold.


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["excerpt", "author", "video", "is_hidden", "created_at"]
    list_filter = ["is_hidden", "created_at"]
    search_fields = ["body", "author__username", "video__title"]
    list_select_related = ["author", "video"]
    raw_id_fields = ["video", "author"]
    actions = ["hide", "show"]

    @admin.display(description="comment")
    def excerpt(self, comment: Comment) -> str:
        return truncatechars(comment.body, 80)

    @admin.action(description="Hide the selected comments")
    def hide(self, request, queryset) -> None:
        count = queryset.set_hidden(True)
        self.message_user(request, f"Hid {count} comment(s).", messages.SUCCESS)

    @admin.action(description="Show the selected comments again")
    def show(self, request, queryset) -> None:
        count = queryset.set_hidden(False)
        self.message_user(request, f"Showed {count} comment(s).", messages.SUCCESS)

    def save_model(self, request, obj, form, change) -> None:
        if change and "body" in form.changed_data:
            # A new ETag for the comment: its author's pending edit, made
            # against the old text, now gets 412 instead of overwriting this.
            obj.version = models.F("version") + 1
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            # Saving touched the video the comment is on; one it left changes too.
            moved_from = form.initial.get("video")
            if moved_from not in (None, obj.video_id):
                touch_videos([moved_from])
        obj.refresh_from_db(fields=["version"])

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            video_ids = list(queryset.order_by().values_list("video_id", flat=True))
            super().delete_queryset(request, queryset)
            touch_videos(video_ids)
