"""Frozen domain models, one module per aggregate. Database rows are converted into these once,
in the store; every layer above sees only these values. All timestamps are timezone-aware UTC;
all durations of operations are milliseconds (`*_ms`). Import them from here:
`from bot.models import Alert`."""

from bot.models.alerts import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertStatus,
    EscalationPlan,
    EscalationStep,
    NewAlert,
    Paged,
)
from bot.models.common import (
    EARLIEST,
    ActorSource,
    Frozen,
    MessageRef,
    Severity,
    Text,
    Timestamp,
)
from bot.models.deliveries import Delivery, DeliveryStatus
from bot.models.findings import (
    Anomaly,
    AnomalyKind,
    Baseline,
    BaselineChange,
    BottleneckType,
    Correlation,
)
from bot.models.jobs import JobRun, JobStatus
from bot.models.metrics import MergeRecord, MergeStatus, Metric
from bot.models.oncall import OncallOverride
from bot.models.operations import (
    OPERATION_NAME_PATTERN,
    Admission,
    OperationLimits,
    OperationName,
    admission,
    operation_name_problem,
)
from bot.models.probes import ChannelProbe
from bot.models.silences import NewSilence, Silence, SilenceMatch

__all__ = [
    "EARLIEST",
    "OPERATION_NAME_PATTERN",
    "ActorSource",
    "Admission",
    "Alert",
    "AlertEvent",
    "AlertKind",
    "AlertStatus",
    "Anomaly",
    "AnomalyKind",
    "Baseline",
    "BaselineChange",
    "BottleneckType",
    "ChannelProbe",
    "Correlation",
    "Delivery",
    "DeliveryStatus",
    "EscalationPlan",
    "EscalationStep",
    "Frozen",
    "JobRun",
    "JobStatus",
    "MergeRecord",
    "MergeStatus",
    "MessageRef",
    "Metric",
    "NewAlert",
    "NewSilence",
    "OncallOverride",
    "OperationLimits",
    "OperationName",
    "Paged",
    "Severity",
    "Silence",
    "SilenceMatch",
    "Text",
    "Timestamp",
    "admission",
    "operation_name_problem",
]
