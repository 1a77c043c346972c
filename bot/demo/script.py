"""The demo's incident script, in simulated minutes from the start of the demo: a week of
history in which get_history has been degrading for three days, then a spike in commit, then
a merge-pipeline saturation in which three merge operations slow down together, then
get_object_timeline stops reporting for 15 minutes (a dead writer: a traffic drop)."""

from datetime import datetime, timedelta

from bot.demo.incidents import Incident, IncidentKind
from bot.demo.operations import MERGE_PIPELINE

COMMIT_SPIKE = (timedelta(minutes=4), timedelta(minutes=10), 6.0)
MERGE_SATURATION = (timedelta(minutes=12), timedelta(minutes=50), 3.0)
DEGRADATION_DAYS = 3
TRAFFIC_STOP = (timedelta(minutes=30), timedelta(minutes=45), "get_object_timeline")


def incidents(start: datetime) -> tuple[Incident, ...]:
    """The scripted incidents for a demo starting at `start` (UTC)."""
    spike_from, spike_to, spike_x = COMMIT_SPIKE
    merge_from, merge_to, merge_x = MERGE_SATURATION
    stop_from, stop_to, stopped = TRAFFIC_STOP
    return (
        Incident(
            IncidentKind.DEGRADATION,
            ("get_history",),
            start - timedelta(days=DEGRADATION_DAYS),
            start + timedelta(hours=6),
            2.2,
        ),
        Incident(IncidentKind.SPIKE, ("commit",), start + spike_from, start + spike_to, spike_x),
        Incident(
            IncidentKind.MERGE_PIPELINE,
            tuple(MERGE_PIPELINE),
            start + merge_from,
            start + merge_to,
            merge_x,
        ),
        Incident(IncidentKind.TRAFFIC_STOP, (stopped,), start + stop_from, start + stop_to, 1.0),
    )


def timeline(start: datetime) -> list[tuple[datetime, str]]:
    """What happens when, for the demo's narration."""
    return [
        (start, "get_history has been slowing down for 3 days (watch for a degradation alert)"),
        (start + COMMIT_SPIKE[0], "commit latency spikes ×6 for 6 minutes"),
        (
            start + MERGE_SATURATION[0],
            "the merge pipeline saturates: merge_base_find, merge_conflict_detect and merge_branches slow down together",
        ),
        (start + TRAFFIC_STOP[0], f"{TRAFFIC_STOP[2]} stops reporting for 15 minutes"),
    ]
