from __future__ import annotations

from django.contrib import admin, messages
from django.template.defaultfilters import truncatechars

from comments.models import Comment


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
        count = queryset.update(is_hidden=True)
        self.message_user(request, f"Hid {count} comment(s).", messages.SUCCESS)

    @admin.action(description="Show the selected comments again")
    def show(self, request, queryset) -> None:
        count = queryset.update(is_hidden=False)
        self.message_user(request, f"Showed {count} comment(s).", messages.SUCCESS)
