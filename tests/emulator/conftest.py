from collections.abc import AsyncIterator

import httpx
import pytest

from tests.emulator.rig import Rig, running


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with running() as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
