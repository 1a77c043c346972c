"""A stand-in for PagerDuty's Events API v2 (`PERFBOT_PAGERDUTY__EVENTS_URL=fake.events_url`).

`POST /v2/enqueue` validates as PagerDuty does: JSON body, a 32-character `routing_key` (one of
`routing_keys`), `event_action` in trigger/acknowledge/resolve, `dedup_key` at most 255 and
required for acknowledge and resolve, and for a trigger `payload.summary` (at most 1024),
`payload.source` and `payload.severity` in critical/error/warning/info. It answers 202
`{"status":"success","message":"Event processed","dedup_key":…}` or 400
`{"status":"invalid event","message":"Event object is invalid","errors":[…]}`; scripted faults
give 429 or 5xx. Accepted events are in `events`; `incidents` keeps each dedup key's state
(`triggered`, `acknowledged`, `resolved`) with PagerDuty's rules: after a resolve a trigger opens
a new incident and acknowledge/resolve are dropped."""

import json
import uuid
from typing import Any

from aiohttp import web

from tests.fakes.server import Call, FakeServer, Fault, main, respond

ROUTING_KEY = "0123456789abcdef0123456789abcdef"
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")


class PagerDutyFake(FakeServer):
    name = "pagerduty"

    def __init__(
        self, port: int | None = None, *, routing_keys: tuple[str, ...] = (ROUTING_KEY,)
    ) -> None:
        super().__init__(port)
        self.routing_keys = routing_keys
        self.events: list[dict[str, Any]] = []
        self.incidents: dict[str, str] = {}

    @property
    def events_url(self) -> str:
        return f"{self.url}/v2/enqueue"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v2/enqueue", self._enqueue)]

    def fault_response(self, fault: Fault) -> web.Response:
        if fault.body is not None:
            return respond(fault.status, fault.body, fault.headers)
        if fault.status == 429:
            return respond(
                429,
                {
                    "status": "throttle event",
                    "message": "Requests for this service are arriving too quickly.",
                },
                fault.headers,
            )
        return respond(fault.status, "Internal Server Error", fault.headers)

    async def _enqueue(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        self.record(
            Call(
                "enqueue",
                request.path,
                request.method,
                event if isinstance(event, dict) else {},
                dict(request.headers),
                body,
            )
        )
        problems = validate(event)
        if (
            isinstance(event, dict)
            and not problems
            and event["routing_key"] not in self.routing_keys
        ):
            problems = ["Invalid routing key"]
        if problems:
            return respond(
                400,
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": problems,
                },
            )
        assert isinstance(event, dict)
        action = event["event_action"]
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        state = self.incidents.get(dedup_key)
        if action == "trigger" and state in (None, "resolved"):
            self.incidents[dedup_key] = "triggered"
        elif action == "acknowledge" and state == "triggered":
            self.incidents[dedup_key] = "acknowledged"
        elif action == "resolve" and state in ("triggered", "acknowledged"):
            self.incidents[dedup_key] = "resolved"
        self.events.append(event)
        return respond(
            202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        )


def validate(event: Any) -> list[str]:
    """PagerDuty's checks of an event; the list of problems (empty when valid)."""
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    problems = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        problems.append("'routing_key' is invalid: must be a 32 character integration key")
    action = event.get("event_action")
    if action not in ACTIONS:
        problems.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
        problems.append("'dedup_key' is invalid (string of at most 255 characters)")
    if action in ("acknowledge", "resolve") and not dedup_key:
        problems.append("'dedup_key' is missing and is required for acknowledge and resolve")
    if action == "trigger":
        problems += _payload_problems(event.get("payload"))
    return problems


def _payload_problems(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object"]
    problems = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary:
        problems.append("'payload.summary' is missing")
    elif len(summary) > 1024:
        problems.append("'payload.summary' is longer than 1024 characters")
    if not isinstance(payload.get("source"), str) or not payload["source"]:
        problems.append("'payload.source' is missing")
    if payload.get("severity") not in SEVERITIES:
        problems.append(
            "'payload.severity' is invalid (must be one of critical, error, warning, info)"
        )
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict | str):
        problems.append("'payload.custom_details' must be an object")
    return problems


if __name__ == "__main__":
    main(lambda port: PagerDutyFake(port))
