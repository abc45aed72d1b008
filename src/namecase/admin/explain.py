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

# docs/LIFECYCLE.md has the same, with the triggers and their sources.
STATE_WORDS: Final[dict[str, str]] = {
    "active": "Served: its events are processed as they arrive. Its event handlers are checked "
    "every BINDING_CHECK_INTERVAL and its tokens refreshed at least monthly.",
    "payment_required": "Bitrix24 answers PAYMENT_REQUIRED: the app's subscription on this "
    "portal has ended. Nothing is done for it, but its events are kept; it is probed every "
    "RECOVERY_INTERVAL (and when an event arrives or its page opens) and resumes by itself, "
    "with the kept records, once paid.",
    "unreachable": "The portal does not answer: PORTAL_DELETED (an on-premise portal's public "
    "part is closed for a while) or network errors and 5xx unit after unit. Its events are "
    "kept; it is probed every RECOVERY_INTERVAL and resumes at the first answer.",
    "auth_failed": "Its tokens are refused (invalid_grant; or invalid_client: the app is not "
    "installed there, or NAMECASE_CLIENT_SECRET is wrong if many portals show it). Its events "
    "are refused. Reinstalling the app (or an app update) brings it back; a refresh is retried "
    "monthly, and once at worker start after invalid_client.",
    "uninstalled": "The app was removed from the portal and Bitrix24 confirmed it: its tokens "
    "are dropped and no call is made. With CLEAN its data was deleted too. Installing the app "
    "again brings it back.",
}


def state_in_words(state: str) -> str:
    """What a portal state means and what happens next (the state itself when unknown)."""
    return STATE_WORDS.get(state, state)
