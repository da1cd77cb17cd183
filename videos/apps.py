from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "videos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from videos import signals  # noqa: F401  (connects the receivers)
