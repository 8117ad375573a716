from django.apps import AppConfig


class OverviewConfig(AppConfig):
    """What FinHub says about itself, read across every app: the home page per role and the
    rollout evidence. It sits above the apps it reads (like the dashboards), so none of them
    imports it; the roadmap asks for evidence through the provider registered here."""

    name = "overview"

    def ready(self) -> None:
        from overview.evidence import evidence_facts
        from roadmap.services import evidence_facts_provider_set

        evidence_facts_provider_set(evidence_facts)
