from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "config"
    label = "site"
    verbose_name = "HitRate site"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the checks)
