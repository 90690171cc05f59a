"""Linda as real processes, for tests that need several of them or need to kill one."""

from __future__ import annotations

import asyncio
import os
import sys


async def start_worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    """`linda worker` with `env` added to this environment; its stderr is kept for failure messages."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "linda",
        "worker",
        env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
