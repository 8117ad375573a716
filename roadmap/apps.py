from django.apps import AppConfig


class RoadmapConfig(AppConfig):
    """The rollout programme: phases, checklist, risks, success metrics."""

    name = "roadmap"
