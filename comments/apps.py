from django.apps import AppConfig


class CommentsConfig(AppConfig):
    name = "comments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, pre_delete

        from comments.signals import author_deleted, author_deleting

        user = get_user_model()
        pre_delete.connect(author_deleting, sender=user, dispatch_uid="comments.author")
        post_delete.connect(author_deleted, sender=user, dispatch_uid="comments.author")
