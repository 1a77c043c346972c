"""The pure analysis engine: rollups in, baselines, anomalies, correlations, trends and merge
analytics out. numpy and the domain models only: no I/O, no clock (`now` is an argument), no
logging. `score_series` is the entry point for judging detection quality on labelled data.

`score_series` is imported on first use, so that `bot.analysis.params` (the thresholds the
configuration is built from) loads without numpy and `perfbot config check` starts fast."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.analysis.score import score_series

__all__ = ["score_series"]


def __getattr__(name: str) -> Any:
    if name == "score_series":
        from bot.analysis.score import score_series

        return score_series
    raise AttributeError(f"module 'bot.analysis' has no attribute {name!r}")
