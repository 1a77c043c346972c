"""The routing core's policy objects, built from configuration.

The routing core (`bot.routing`) never imports configuration; whoever needs a `Router`, a
`LifecyclePolicy` or a `RetryPolicy` gets it here. Permissions are built by
`PermissionSettings.to_permissions()`, analysis parameters by `bot.config.params.params`."""

from bot.config.alerts import AlertSettings
from bot.config.delivery import DeliverySettings
from bot.config.params import params
from bot.config.settings import Settings
from bot.routing.backoff import RetryPolicy
from bot.routing.lifecycle import LifecyclePolicy
from bot.routing.rules import Router


def router(settings: Settings) -> Router:
    """The routes, every channel (implicit ones included) and `alerts.repeat_every`."""
    return Router(
        rules=tuple(route.to_rule() for route in settings.routes),
        channels=settings.all_channels(),
        repeat_every=settings.alerts.repeat_every,
    )


def lifecycle_policy(alerts: AlertSettings) -> LifecyclePolicy:
    """The `alerts:` settings the lifecycle needs, by field name."""
    return params(LifecyclePolicy, alerts)


def retry_policy(delivery: DeliverySettings) -> RetryPolicy:
    """Backoff base and cap, the attempts before a delivery is dead, and the longest
    Retry-After honoured."""
    return RetryPolicy(
        delivery.backoff_base,
        delivery.backoff_max,
        delivery.max_attempts,
        delivery.retry_after_max,
    )
