"""Portal states and event modes in words, for the operator reading /admin at 3 a.m."""

from __future__ import annotations

from typing import Final, Literal

# How Bitrix24 tells us of changes (portals/event_modes.py, bitrix24-protocol.md §2, §10).
EventMode = Literal["online", "offline"]

EVENT_MODE_WORDS: Final[dict[str, str]] = {
    "online": "online: Bitrix24 posts every change to /events as it happens; a delivery lost "
    "while the service was down is caught by the next reconciliation sweep.",
    "offline": "offline: Bitrix24 keeps a queue of changed records for us; its doorbell "
    "(ONOFFLINEEVENT) rings and the worker collects the queue, reserving each page and "
    "confirming it only once stored, so nothing is lost while the service is down. Our "
    "corrections carry our auth_connector and do not come back. The reconciliation sweep "
    "runs every OFFLINE_RECONCILE_INTERVAL as a net.",
    "offline_clear": "offline: Bitrix24 keeps a queue of changed records for us; its doorbell "
    "(ONOFFLINEEVENT) rings and the worker collects the queue. This portal's plan has no "
    "reserve/confirm (rest_offline_extended), so a page is deleted as it is read: a crash "
    "before it is stored loses it, and the sweep every RECONCILE_INTERVAL catches that. Our "
    "corrections carry our auth_connector and do not come back.",
}


def event_mode_in_words(mode: str, *, extended: bool, reason: str | None) -> str:
    """How the portal's changes reach us, and why it is online when it could not be offline."""
    if mode == "offline":
        return EVENT_MODE_WORDS["offline" if extended else "offline_clear"]
    words = EVENT_MODE_WORDS["online"]
    return f"{words} Not offline: {reason}." if reason else words


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
