from finhub.core.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="overview: roadmap evidence check",
        task="overview.tasks.roadmap_evidence_check",
        every_seconds=120,
        # Evidence follows syncs (every 15 minutes in the demo) and the recomputes after
        # them; two minutes keeps the roadmap close behind for six small queries a run.
        why="Checks the evidence of the roadmap's checklist items (connectors, reports).",
    ),
]
