"""Pure routing and alert-lifecycle decisions: data and `now` go in, values come out; no I/O,
no clock, no logging. `rules` (routes, dry runs) and `fallback` (the seed default);
`fingerprint` and `candidate` (what a detection proposes); `lifecycle` (the dispatcher and
auto-resolve), `fire`, `update` and `grouping` (fire, update, parent/child); `escalation` and
`silence` (timers and muting); `actions` and `permission` (what people do); `transition` (the
values all of these return); `attempt` (the delivery failure policy) over `backoff`,
`ratelimit` and `breaker`."""
