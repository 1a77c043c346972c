"""Waiting for asynchronous outcomes in tests: poll a condition until it holds, with a bound."""

import asyncio
from collections.abc import Awaitable, Callable


async def eventually(
    predicate: Callable[[], Awaitable[bool]], within: float = 10.0, every: float = 0.02
) -> None:
    """Return once `predicate()` is true; fail the test after `within` seconds."""
    try:
        async with asyncio.timeout(within):
            while not await predicate():  # noqa: ASYNC110 -- polling outside state is the point
                await asyncio.sleep(every)
    except TimeoutError:
        raise AssertionError(f"condition not reached within {within} s") from None
