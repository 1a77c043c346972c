"""The CPU-heavy analysis of a detection cycle runs in a worker thread, not on the event loop:
while the analysis function is running, the loop still runs other coroutines (proved from inside
the analysis, which waits for the loop to answer; on the loop's own thread that wait could never
be answered)."""

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from bot.analysis import detection
from bot.store import Store
from tests.integration.test_detection_cycle import NOW, replica, spike_history


def loop_answers_during(
    analysis: Callable[..., Any], loop: asyncio.AbstractEventLoop, seen: list[str]
) -> Callable[..., Any]:
    """`analysis`, first recording its thread and whether the loop answered a probe meanwhile."""

    async def probe() -> str:
        await asyncio.sleep(0)
        return "answered"

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.current_thread().name)
        if threading.current_thread() is threading.main_thread():
            seen.append("on the loop thread")  # the probe below would dead-lock: do not wait
        else:
            seen.append(asyncio.run_coroutine_threadsafe(probe(), loop).result(timeout=30))
        return analysis(*args, **kwargs)

    return wrapped


async def test_a_detection_cycle_scores_off_the_event_loop(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await spike_history(store)
    jobs, _ = replica(store)
    seen: list[str] = []
    monkeypatch.setattr(
        detection, "detect", loop_answers_during(detection.detect, asyncio.get_running_loop(), seen)
    )
    found = await jobs.detect_once(NOW, alert=False)
    assert seen[1:] == ["answered"], seen
    assert seen[0] != threading.main_thread().name
    assert any(a.operation_type == "commit" for a in found)  # the real analysis still ran
