"""Portal states and event modes in words, for the operator reading /admin at 3 a.m."""

from __future__ import annotations

from typing import Final, Literal

# Issue 13 will add offline events (bitrix24-protocol.md §10); until then every portal is online.
EventMode = Literal["online"]
EVENT_MODE: Final[EventMode] = "online"

EVENT_MODE_WORDS: Final[dict[str, str]] = {
    "online": "online: Bitrix24 posts every change to /events as it happens; a delivery lost "
    "while the service was down is caught by the next reconciliation sweep.",
}

STATE_WORDS: Final[dict[str, str]] = {
    "active": "Served: its events are processed as they arrive.",
    "payment_required": "Bitrix24 answers PAYMENT_REQUIRED: the app's subscription on this "
    "portal has ended. Nothing is done for it; it is probed every RECOVERY_INTERVAL and "
    "resumes by itself once paid.",
    "unreachable": "The portal does not answer (an on-premise portal closed: PORTAL_DELETED, or "
    "the network). Its work waits; it is probed every RECOVERY_INTERVAL.",
    "auth_failed": "The OAuth server refused its tokens (invalid_grant or invalid_client). "
    "Nothing can be done for it until the app is reinstalled or reopened there.",
    "uninstalled": "The app was removed from the portal (ONAPPUNINSTALL) and its tokens "
    "dropped. Installing the app again brings it back.",
}


def state_in_words(state: str) -> str:
    """What a portal state means and what happens next (the state itself when unknown)."""
    return STATE_WORDS.get(state, state)
