"""The outbox worker: claims due deliveries, sends each through its channel's `Notifier`, and
records the outcome. Nothing is dropped: a failure is retried with jittered exponential backoff
(never sooner than a `Retry-After`), a permanent failure or exhausted attempts leave a visible
dead row, and a CRITICAL that cannot get through also goes to `delivery.fallback`.

Rate limits and circuit breakers are per destination (channel) and per process. A delivery held
back by either, answered 429, or failing while the destination's circuit is open is deferred
without using up an attempt: a 429 storm or an outage longer than the backoff horizon delays
alerts but ends with everything delivered, in order per alert and channel (CRITICALs also reach
the fallback meanwhile). Attempts run out only for a message that keeps failing while its
destination otherwise works.

`worker` claims, prepares and sends; what an attempt leads to is decided by the pure policy in
`bot.routing.attempt`; `destinations` keeps each destination's breaker and bucket, and
`recorder` applies a decision to the outbox, the metrics and the log."""

from bot.delivery.worker import DeliveryWorker

__all__ = ["DeliveryWorker"]
