"""perfbot: watches operation latencies in PostgreSQL, detects anomalies and shared bottlenecks,
routes alerts to on-call, and answers `/perf` commands in chat."""

__version__ = "0.1.0"
