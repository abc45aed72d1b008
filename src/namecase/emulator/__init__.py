"""A Bitrix24 emulator: OAuth server, portals, REST, limits, event delivery, faults.

Written from shared/bitrix24-protocol.md as the other side of the wire; it imports nothing
from the rest of namecase. See docs/EMULATOR.md.
"""

from namecase.emulator.emulator import (
    PORTAL_DOMAIN_SUFFIX,
    Emulator,
    EmulatorConfig,
    NotServedError,
    RecordNotFoundError,
    UnknownPortalError,
)
from namecase.emulator.events import Delivery
from namecase.emulator.faults import Faults
from namecase.emulator.portal import Portal, PortalStats
from namecase.emulator.server import serve_asgi, serve_emulator

__all__ = [
    "PORTAL_DOMAIN_SUFFIX",
    "Delivery",
    "Emulator",
    "EmulatorConfig",
    "Faults",
    "NotServedError",
    "Portal",
    "PortalStats",
    "RecordNotFoundError",
    "UnknownPortalError",
    "serve_asgi",
    "serve_emulator",
]
