from django.apps import AppConfig


class CachingConfig(AppConfig):
    name = "caching"
    verbose_name = "Caching policies"

    def ready(self) -> None:
        from caching import checks  # noqa: F401  (registers the checks)
