"""The Alertmanager bridge: `POST /api/v1/alertmanager` takes Alertmanager's webhook payload
(format version 4) and turns each alert in it into a perfbot alert of kind `external`, which is
then routed, de-duplicated, silenced, acknowledged and escalated like perfbot's own.

* identity: Alertmanager's `fingerprint` (one per label set): a re-sent firing alert updates the
  same perfbot alert (occurrences, last seen), as a repeated detection does;
* severity: the label `alertmanager.severity_label` mapped by `alertmanager.severities`, else
  `alertmanager.default_severity`;
* title: the `summary` annotation, else the `alertname` label; summary: the `description`
  annotation, else the summary, else the labels; labels and annotations are kept in `details`
  (routes and silences match `labels`); everything is data that renderers escape;
* `status: resolved` resolves the open alert with that fingerprint (perfbot never auto-resolves
  an external alert: Alertmanager re-sends a firing one only every `repeat_interval`).

The whole payload is validated before anything is stored: a 4xx names the problem."""

import json
import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from bot import server
from bot.alerts import AlertService
from bot.config.alertmanager import AlertmanagerSettings
from bot.models import ActorSource, AlertKind
from bot.routing.candidate import AlertCandidate
from bot.routing.transition import Actor

logger = logging.getLogger(__name__)

MAX_ALERTS = 1000
MAX_LABELS = 64
MAX_TITLE = 200
MAX_SUMMARY = 2000
SOURCE = Actor(user_name="alertmanager", source=ActorSource.API)

Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Text = Annotated[str, StringConstraints(max_length=4096)]
Fingerprint = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class _Model(BaseModel):
    # Alertmanager may add fields in later versions; those not read here are ignored.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class AmAlert(_Model):
    """One alert of the payload, as Alertmanager's `template.Alert` serialises it."""

    status: Literal["firing", "resolved"]
    labels: dict[Name, Text] = Field(max_length=MAX_LABELS)
    annotations: dict[Name, Text] = Field(default_factory=dict, max_length=MAX_LABELS)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: Annotated[str, StringConstraints(max_length=2048)] = Field(
        default="", alias="generatorURL"
    )
    fingerprint: Fingerprint


class AmPayload(_Model):
    """Alertmanager's webhook body, version 4."""

    version: Literal["4"]
    receiver: Text = ""
    status: Literal["firing", "resolved"]
    alerts: list[AmAlert] = Field(min_length=1, max_length=MAX_ALERTS)
    group_labels: dict[Name, Text] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[Name, Text] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[Name, Text] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: Text = Field(default="", alias="externalURL")
    group_key: Text = Field(default="", alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")


def parse(body: bytes) -> AmPayload:
    """The validated payload; raises `Invalid` (400 for non-JSON, 422 for a wrong shape)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(400, f"the body is not JSON: {exc}") from None
    try:
        return AmPayload.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise Invalid(
            422,
            f"not an Alertmanager webhook payload (version 4): {where}: {first['msg']}"
            + (f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""),
        ) from None


class Invalid(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def candidate(
    alert: AmAlert, payload: AmPayload, settings: AlertmanagerSettings, now: datetime
) -> AlertCandidate:
    """The perfbot candidate for one firing Alertmanager alert seen at `now`."""
    labels = dict(alert.labels)
    annotations = dict(alert.annotations)
    name = labels.get("alertname", "")
    title = annotations.get("summary") or name or f"Alertmanager alert {alert.fingerprint}"
    summary = (
        annotations.get("description")
        or annotations.get("summary")
        or ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    )
    details: dict[str, Any] = {
        "source": "alertmanager",
        "am_fingerprint": alert.fingerprint,
        "labels": labels,
        "annotations": annotations,
        "starts_at": alert.starts_at.isoformat(),
        "generator_url": alert.generator_url,
        "external_url": payload.external_url,
        "receiver": payload.receiver,
        "group_key": payload.group_key,
    }
    return AlertCandidate(
        kind=AlertKind.EXTERNAL,
        severity=settings.severity(labels),
        key=alert.fingerprint,
        title=_clip(title, MAX_TITLE),
        summary=_clip(summary, MAX_SUMMARY),
        details={k: v for k, v in details.items() if v != ""},
        detected_at=now,
    )


async def receive(
    payload: AmPayload, service: AlertService, settings: AlertmanagerSettings, now: datetime
) -> dict[str, int]:
    """Fire, update or resolve a perfbot alert for each alert of `payload`; returns counts."""
    counts = {"alerts": 0, "resolved": 0, "ignored": 0}
    for alert in payload.alerts:
        cand = candidate(alert, payload, settings, now)
        if alert.status == "resolved":
            done = await service.resolve_fingerprint(cand.fingerprint, SOURCE, now)
            counts["resolved" if done else "ignored"] += 1
        elif await service.process_external(cand, now) is not None:
            counts["alerts"] += 1
        else:
            counts["ignored"] += 1
    return counts


SERVICE_KEY = web.AppKey("alert_service", AlertService)
SETTINGS_KEY = web.AppKey("alertmanager_settings", AlertmanagerSettings)


async def post_alertmanager(request: web.Request) -> web.Response:
    body = await server.read_json_body(request)
    try:
        payload = parse(body)
    except Invalid as exc:
        return server.error_response(exc.status, exc.message)
    counts = await receive(
        payload,
        request.app[SERVICE_KEY],
        request.app[SETTINGS_KEY],
        request.app[server.CLOCK_KEY].now(),
    )
    logger.info(
        "alertmanager payload",
        extra={
            "action": "alertmanager_received",
            "status": payload.status,
            "group_key": payload.group_key,
            "truncated": payload.truncated_alerts,
            **counts,
        },
    )
    return web.json_response(counts, status=200)


def mount(app: web.Application, service: AlertService, settings: AlertmanagerSettings) -> None:
    """Serve `POST /api/v1/alertmanager` where the ingest API is served, with its tokens."""
    access = app[server.ACCESS_KEY]
    if not (access.api and access.ingest):
        return
    app[SERVICE_KEY] = service
    app[SETTINGS_KEY] = settings
    handler = server.protect(app, post_alertmanager) if access.tokens else post_alertmanager
    app.router.add_post("/api/v1/alertmanager", handler)
