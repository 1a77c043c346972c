"""Detection quality through the production path, on held-out seeds of data that is not the
detector's model (`bench/quality_data.py` describes the traffic and the incidents).

For each detector (`robust`, `zscore`) and each seed: a fresh perfbot database (on
PERFBOT_BENCH_DATABASE_URL, else an embedded server), `--history-days` of clean history loaded
with `store.metrics.add_rows` (COPY) and rolled up by the store's back-fill, then the evaluated
days replayed minute by minute on a stepped `FrozenClock`: the minute's rows are copied in
before the clock reaches them, and at 1 s past each minute the production `Jobs.detect_once`
runs (rollup refresh, `HourCache` hours + the last 16 minutes, scoring, storing, alerting);
the baselines job at 02:00 UTC. No correlation or escalation (they do not change anomalies).

Counting, as on-call sees it: anomalies of WARNING and above; consecutive anomalies of one
operation and family (spike-type = statistical/threshold/combined, degradation, traffic = any
other kind, e.g. a traffic-drop kind) are one alert episode until 30 quiet minutes.

* false alerts per operation-day: episodes that overlap no incident of their operation (its
  span + 2 h), over operations x evaluated days; degradation episodes that follow an incident of
  the same operation are counted in (on-call gets them) and also shown apart (`echo`);
* recall per incident type and magnitude: a latency incident is found when a spike-type anomaly
  of its operation fires within its span + 5 minutes (a degradation cannot take the credit); a
  traffic stop when a traffic-family anomaly of its operation (or of no operation) does;
* delay: minutes from the incident's start to the first such anomaly, and in cycles, 1 being
  the first cycle whose scored window holds the incident's first minute.

Seeds: parameters may be tuned on TUNE_SEEDS only; the report is on REPORT_SEEDS (`--seeds`
overrides, and the JSON says which were used). `--quick`: one report seed, one day.
Prints one JSON object; progress on stderr. `./dev bench detection_quality`."""

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from common import drop_database, fresh_database, machine, server
from quality_data import (
    OPERATIONS,
    SHIFT_MAGNITUDES,
    SPIKE_MAGNITUDES,
    Incident,
    Traffic,
    expected_rate,
    plan,
)

from bot.alerts import AlertService
from bot.analysis.params import DetectionParams
from bot.clock import FrozenClock
from bot.config import Settings
from bot.jobs import Jobs
from bot.models import AnomalyKind, Severity
from bot.store import Store

TUNE_SEEDS = (1, 2)
REPORT_SEEDS = (101, 102)
DETECTORS = ("robust", "zscore")
MINUTE = timedelta(minutes=1)
FIRE = timedelta(seconds=1)  # interval jobs fire 1 s past their slot
GRACE = timedelta(minutes=5)
EXPLAINS = timedelta(hours=2)
QUIET = timedelta(minutes=30)
SPIKE_KINDS = {AnomalyKind.STATISTICAL, AnomalyKind.THRESHOLD, AnomalyKind.COMBINED}
TARGETS = {
    "false_alerts_per_operation_day": "<= 0.1 (WARNING+)",
    "spike_x2_5min_10rpm_recall": ">= 0.9",
    "level_shift_x1.5_1h_recall": ">= 0.8",
    "traffic_stop_delay_cycles": "<= 3 (operations busy at the time, >= 5/min)",
    "low_rate_0.5rpm_x4_30min_recall": ">= 0.8",
}

Record = tuple[float, str, str, str]  # cycle time (epoch s), operation, family, severity


def family(kind: str) -> str:
    if kind in SPIKE_KINDS:
        return "spike"
    return "degradation" if kind == AnomalyKind.DEGRADATION else "traffic"


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def replay(
    srv: str, detector: str, seed: int, start: datetime, days: int, history: int
) -> tuple[list[Record], dict[str, float]]:
    incidents = plan(seed, start, days)
    data = Traffic(seed, start - timedelta(days=history), days + history, incidents)
    url = await fresh_database(srv)
    settings = Settings.load(database_url=url, detection={"detector": detector})
    store = await Store.connect(settings)
    clock = FrozenClock(start - timedelta(days=history))
    jobs = Jobs(store, settings, AlertService(store, settings, clock))
    records: list[Record] = []
    dump = os.environ.get("QUALITY_DUMP")
    dumped: list[dict[str, Any]] = []
    cycle_s: list[float] = []
    began = time.perf_counter()
    try:
        moment = start - timedelta(days=history)
        while moment < start:  # the history, six hours at a time
            upto = min(start, moment + timedelta(hours=6))
            await store.metrics.add_rows(data.rows(moment, upto))
            moment = upto
        clock.set(start)
        await jobs.refresh(start)
        await store.rollups.backfill()
        loaded = time.perf_counter() - began
        end = start + timedelta(days=days)
        hour_rows: list[tuple[str, float, datetime]] = []
        while moment < end:
            if moment.minute == 0:
                hour_rows = data.rows(moment, moment + timedelta(hours=1))
            lo = moment
            batch = [r for r in hour_rows if lo <= r[2] < lo + MINUTE]
            await store.metrics.add_rows(batch)
            moment += MINUTE
            if moment.hour == 2 and moment.minute == 0:
                clock.set(moment)
                await jobs.baselines(moment)
            now = moment + FIRE
            clock.set(now)
            t0 = time.perf_counter()
            found = await jobs.detect_once(now)
            cycle_s.append(time.perf_counter() - t0)
            records += [
                (now.timestamp(), a.operation_type, family(a.kind), a.severity.value)
                for a in found
                if a.severity.rank >= Severity.WARNING.rank
            ]
            if dump:
                dumped += [
                    {**a.model_dump(mode="json", exclude={"details"}), "details": a.details}
                    for a in found
                    if a.severity.rank >= Severity.WARNING.rank
                ]
            if moment.minute == 0 and moment.hour % 6 == 0:
                progress(f"  {detector} seed {seed}: {moment:%a %H:%M}, {len(records)} anomalies")
    finally:
        await store.close()
        await drop_database(srv, url)
    cycles = np.array(cycle_s) * 1000
    if dump:  # every WARNING+ anomaly with its evidence, for diagnosis (QUALITY_DUMP=directory)
        (Path(dump) / f"{detector}-{seed}.json").write_text(json.dumps(dumped, default=str))
    return records, {
        "load_s": round(loaded, 1),
        "replay_s": round(time.perf_counter() - began - loaded, 1),
        "cycles": len(cycle_s),
        "cycle_p50_ms": round(float(np.median(cycles)), 1) if len(cycles) else 0.0,
        "cycle_p99_ms": round(float(np.percentile(cycles, 99)), 1) if len(cycles) else 0.0,
    }


def _job(args: tuple[str, str, int, datetime, int, int]) -> tuple[str, int, list[Record], Any]:
    srv, detector, seed, start, days, history = args
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    records, timing = asyncio.run(replay(srv, detector, seed, start, days, history))
    return detector, seed, records, timing


# ---- scoring -----------------------------------------------------------------------------------


def episodes(records: Sequence[Record]) -> list[tuple[str, str, float, float, str]]:
    """(operation, family, first, last, worst severity) per alert episode."""
    by_key: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    for t, op, fam, severity in records:
        by_key[(op, fam)].append((t, severity))
    found = []
    for (op, fam), hits in by_key.items():
        hits.sort()
        first = last = hits[0][0]
        worst = hits[0][1]
        for t, severity in hits[1:]:
            if t - last > QUIET.total_seconds():
                found.append((op, fam, first, last, worst))
                first, worst = t, severity
            last = t
            worst = max(worst, severity, key=lambda s: Severity(s).rank)
        found.append((op, fam, first, last, worst))
    return found


def false_alerts(
    records: Sequence[Record], incidents: Sequence[Incident], op_days: int
) -> dict[str, Any]:
    false: dict[str, int] = defaultdict(int)
    echo = critical = 0
    for op, fam, first, last, worst in episodes(records):
        if any(
            i.operation == op
            and first < (i.end + EXPLAINS).timestamp()
            and last >= i.start.timestamp()
            for i in incidents
        ):
            continue
        false[fam] += 1
        critical += worst == Severity.CRITICAL
        echo += fam == "degradation" and any(
            i.operation == op and i.start.timestamp() < first for i in incidents
        )
    total = sum(false.values())
    return {
        "episodes": total,
        "per_operation_day": round(total / op_days, 3),
        "per_operation_day_by_family": {k: round(v / op_days, 3) for k, v in false.items()},
        "critical_per_operation_day": round(critical / op_days, 3),
        "degradation_echoes_of_earlier_incidents": echo,
    }


def found_at(records: Sequence[Record], incident: Incident) -> float | None:
    lo, hi = incident.start.timestamp(), (incident.end + GRACE).timestamp()
    want = "traffic" if incident.kind == "traffic_stop" else "spike"
    hits = [
        t
        for t, op, fam, _ in records
        if fam == want
        and lo < t <= hi
        and (op == incident.operation or (want == "traffic" and not op))
    ]
    return min(hits) if hits else None


def recall(
    runs: Sequence[tuple[list[Record], tuple[Incident, ...]]],
) -> dict[str, Any]:
    """Per incident type and magnitude, over every run: found / planned, and the delays; busy =
    the operation usually has >= 5 requests/min at that time."""
    cells: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for records, incidents in runs:
        for incident in incidents:
            at = found_at(records, incident)
            label = "stop" if incident.kind == "traffic_stop" else f"x{incident.magnitude:g}"
            busy = "busy" if expected_rate(incident) >= 5 else "quiet"
            if incident.kind in ("spike", "level_shift", "traffic_stop"):
                keys = [f"{incident.kind} {label} {busy}", f"{incident.kind} {label} all"]
            else:
                keys = [f"{incident.kind} {label} all"]
            for key in keys:
                cells[key]["found"].append(at is not None)
                if at is not None:
                    minutes = (at - incident.start.timestamp()) / 60
                    cells[key]["delay_min"].append(minutes)
                    cells[key]["delay_cycles"].append(int(minutes - 2) + 1)
    out: dict[str, Any] = {}
    for key in sorted(cells, key=_order):
        c = cells[key]
        out[key] = {
            "incidents": len(c["found"]),
            "recall": round(sum(c["found"]) / len(c["found"]), 3),
            "median_delay_min": _median(c["delay_min"]),
            "median_delay_cycles": _median(c["delay_cycles"]),
            "max_delay_cycles": max(c["delay_cycles"], default=None),
        }
    return out


def stops_by_rate(
    runs: Sequence[tuple[list[Record], tuple[Incident, ...]]],
) -> list[dict[str, Any]]:
    """Each traffic stop: the operation's usual rate then (requests/min, the traffic model's)
    and its delay in cycles (None: not found), slowest rate first."""
    out = []
    for records, incidents in runs:
        for incident in incidents:
            if incident.kind != "traffic_stop":
                continue
            at = found_at(records, incident)
            minutes = None if at is None else (at - incident.start.timestamp()) / 60
            out.append(
                {
                    "operation": incident.operation,
                    "start": f"{incident.start:%a %H:%M}",
                    "rate_per_min": round(expected_rate(incident), 2),
                    "delay_min": None if minutes is None else round(minutes, 1),
                    "delay_cycles": None if minutes is None else int(minutes - 2) + 1,
                }
            )
    return sorted(out, key=lambda s: s["rate_per_min"])


def _median(values: list[float]) -> float | None:
    return round(float(np.median(values)), 1) if values else None


def _order(key: str) -> tuple[int, float, str]:
    kind, label, busy = key.split()
    rank = ["spike", "level_shift", "low_rate_shift", "traffic_stop"].index(kind)
    return rank, float(label[1:]) if label != "stop" else 0.0, busy


def headline(per_detector: dict[str, Any]) -> dict[str, Any]:
    r = per_detector["recall"]

    def get(key: str, field: str = "recall") -> Any:
        return r.get(key, {}).get(field)

    return {
        "false_alerts_per_operation_day": per_detector["false_alerts"]["per_operation_day"],
        "spike_x2_5min_10rpm_recall": get("spike x2 busy"),
        "level_shift_x1.5_1h_recall": get("level_shift x1.5 busy"),
        # like the spike and shift targets, on operations busy at the time (>= 5/min); how fast
        # a stop on a quiet one can be proven is bounded by its rate (`traffic_stops_by_rate`)
        "traffic_stop_delay_cycles": get("traffic_stop stop busy", "max_delay_cycles"),
        "traffic_stop_recall": get("traffic_stop stop busy"),
        "traffic_stop_quiet_delay_cycles": get("traffic_stop stop quiet", "max_delay_cycles"),
        "traffic_stop_quiet_recall": get("traffic_stop stop quiet"),
        "low_rate_0.5rpm_x4_30min_recall": get("low_rate_shift x4 all"),
    }


# ---- main -------------------------------------------------------------------------------------


def evaluated_start(days: int) -> datetime:
    """A Friday 00:00 UTC far enough in the past that the evaluated days (and a weekend) end
    before today: simulated time never runs ahead of the database's clock."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=days + 1)
    return start - timedelta(days=(start.weekday() - 4) % 7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=2, help="evaluated days (from a Friday)")
    parser.add_argument("--history-days", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="*", default=list(REPORT_SEEDS))
    parser.add_argument("--detectors", nargs="*", default=list(DETECTORS))
    parser.add_argument("--quick", action="store_true", help="one seed, one day")
    args = parser.parse_args()
    if args.quick:
        args.days, args.seeds = 1, args.seeds[:1]
    start = evaluated_start(args.days)
    began = time.perf_counter()
    load_before = os.getloadavg()
    with server() as srv:
        jobs = [
            (srv, d, s, start, args.days, args.history_days)
            for d in args.detectors
            for s in args.seeds
        ]
        with get_context("fork").Pool(min(len(jobs), 2)) as pool:
            results = pool.map(_job, jobs)
    detectors: dict[str, Any] = {}
    op_days = len(OPERATIONS) * args.days * len(args.seeds)
    for detector in args.detectors:
        mine = [
            (records, plan(seed, start, args.days))
            for d, seed, records, _ in results
            if d == detector
        ]
        all_records = [r for records, _ in mine for r in records]
        all_incidents = [i for _, incidents in mine for i in incidents]
        # seeds share times: score each seed's records against its own incidents
        fa = [false_alerts(rec, inc, len(OPERATIONS) * args.days) for rec, inc in mine]
        entry: dict[str, Any] = {
            "false_alerts": {
                "per_operation_day": round(sum(f["episodes"] for f in fa) / op_days, 3),
                "per_seed": fa,
            },
            "recall": recall(mine),
            "traffic_stops_by_rate": stops_by_rate(mine),
            "timing": {str(s): t for d, s, _, t in results if d == detector},
            "warning_plus_anomalies": len(all_records),
            "incidents": len(all_incidents),
        }
        entry["headline"] = headline(entry)
        detectors[detector] = entry
    print(
        json.dumps(
            {
                "bench": "detection_quality",
                "method": "production Jobs.detect_once each minute on a stepped clock, stored "
                "rollups in PostgreSQL; see bench/detection_quality.py and bench/quality_data.py",
                "data": {
                    "operations": {o.name: o.rate for o in OPERATIONS},
                    "evaluated": f"{start:%a %Y-%m-%d} + {args.days} days",
                    "history_days": args.history_days,
                    "spike_magnitudes": SPIKE_MAGNITUDES,
                    "level_shift_magnitudes": SHIFT_MAGNITUDES,
                },
                "seeds": {"tuning": TUNE_SEEDS, "reported": args.seeds, "quick": args.quick},
                "chosen_default": DetectionParams().detector,
                "targets": TARGETS,
                "detectors": detectors,
                "runtime_s": round(time.perf_counter() - began, 1),
                "load_average": {"before": load_before, "after": os.getloadavg()},
                "machine": machine(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
