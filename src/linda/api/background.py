"""Jobs the API starts and answers for before they end (imports, mass updates)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

_running: set[asyncio.Task[Any]] = set()


def start(job: Coroutine[Any, Any, Any], name: str) -> None:
    """Run `job` in the background, referenced until it ends: the event loop keeps only weak references to
    tasks, and a task nothing refers to may be collected before it finishes."""
    task = asyncio.create_task(job, name=name)
    _running.add(task)
    task.add_done_callback(_running.discard)
