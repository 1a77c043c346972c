"""Prometheus metrics for `GET /metrics`: deliveries by channel and outcome, queue depth and the
age of the oldest unsent delivery, job runs and durations (the detect job's is the detection
cycle time), slash-command latency, known operations and the source rows skipped for their
names. One registry per process; values that live in the database are read at scrape time."""

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter(
            "perfbot_deliveries_total",
            "Delivery attempts by channel and outcome (sent, retry, dead, rate_limited, circuit_open).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.claims_lost = Counter(
            "perfbot_delivery_claims_lost_total",
            "Delivery outcomes not recorded because the worker's claim was lost (its lease "
            "expired mid-send and another claim owns the row).",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "perfbot_delivery_queue_depth",
            "Deliveries not yet sent, by status.",
            ["status"],
            registry=self.registry,
        )
        self.oldest_pending = Gauge(
            "perfbot_delivery_oldest_pending_seconds",
            "Age of the oldest delivery not yet sent (0 when the queue is empty).",
            registry=self.registry,
        )
        self.job_runs = Counter(
            "perfbot_job_runs_total",
            "Job runs by job and status.",
            ["job", "status"],
            registry=self.registry,
        )
        self.job_seconds = Histogram(
            "perfbot_job_duration_seconds",
            "Job run durations; job=detect is the detection cycle time.",
            ["job"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=self.registry,
        )
        self.operations = Gauge(
            "perfbot_operations",
            "Known operation names (capped by detection.max_operations).",
            registry=self.registry,
        )
        self.skipped_rows = Gauge(
            "perfbot_source_rows_skipped",
            "Source-table rows the rollups skipped since the database was created, by reason: "
            "invalid_name (outside the operation-name character set) or operation_cap (a new "
            "name past detection.max_operations or max_new_operations_per_hour). Only grows.",
            ["reason"],
            registry=self.registry,
        )
        self.late_rows = Gauge(
            "perfbot_source_late_rows_total",
            "Source-table rows found committed after their minute was rolled up (a slow "
            "operation in a long transaction) and rolled up then, since the database was "
            "created. Only grows.",
            registry=self.registry,
        )
        self.slash_seconds = Histogram(
            "perfbot_slash_command_seconds",
            "Time from receiving a chat command to acknowledging it, by platform.",
            ["platform"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 3),
            registry=self.registry,
        )

    def handler(
        self, refresh: Callable[[], Awaitable[None]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The `GET /metrics` handler; `refresh` updates the database-backed gauges first."""

        async def metrics(request: web.Request) -> web.Response:
            await refresh()
            body = generate_latest(self.registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        return metrics
