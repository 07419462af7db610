from __future__ import annotations

from importlib import import_module

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs import conf
        from jobs.handlers import registry

        registry.autodiscover()
        if conf.get("FAULT_HANDLERS"):
            from jobs.handlers import ledger

            ledger.ENABLED = True
            import_module("jobs.handlers.faults")
