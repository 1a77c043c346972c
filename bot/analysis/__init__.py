"""The pure analysis engine: rollups in, baselines, anomalies, correlations, trends and merge
analytics out. numpy and the domain models only: no I/O, no clock (`now` is an argument), no
logging. `score_series` is the entry point for judging detection quality on labelled data."""

from bot.analysis.score import score_series

__all__ = ["score_series"]
