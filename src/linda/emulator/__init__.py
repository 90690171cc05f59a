"""An emulator of Meta's WhatsApp Cloud API: Graph API, simulated users and a signed webhook emitter."""

from linda.emulator.app import create_emulator_app, emulator_from_settings, run
from linda.emulator.emulator import Emulator
from linda.emulator.state import EmulatedNumber, RecordedRequest, RecordedWebhook, Template

__all__ = [
    "EmulatedNumber",
    "Emulator",
    "RecordedRequest",
    "RecordedWebhook",
    "Template",
    "create_emulator_app",
    "emulator_from_settings",
    "run",
]
