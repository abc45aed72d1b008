"""Prometheus metrics of the service. Every name starts with `namecase_`.

Counters and histograms live in the process that observes them; facts shared by all processes
(inbox depth, portals by state) are read from the database when /metrics is scraped.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "namecase_http_requests_total",
    "HTTP requests served, by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "namecase_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
EVENTS_RECEIVED = Counter(
    "namecase_events_received_total", "Event deliveries received at /events.", registry=REGISTRY
)
EVENTS_ACCEPTED = Counter(
    "namecase_events_accepted_total",
    "Events stored in the inbox (or acknowledged and dropped by portal settings), by event.",
    ["event"],
    registry=REGISTRY,
)
EVENTS_REJECTED = Counter(
    "namecase_events_rejected_total",
    "Events rejected, by reason (malformed, too_large, forbidden, unknown_event).",
    ["reason"],
    registry=REGISTRY,
)
REST_CALLS = Counter(
    "namecase_rest_calls_total",
    "REST requests made to portals, by method and outcome (ok or the Bitrix error code).",
    ["method", "outcome"],
    registry=REGISTRY,
)
TOKEN_REFRESHES = Counter(
    "namecase_token_refreshes_total",
    "OAuth refreshes performed, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
RECORDS_UPDATED = Counter(
    "namecase_records_updated_total",
    "CRM records whose names we changed, by entity type.",
    ["entity_type"],
    registry=REGISTRY,
)
EVENT_TO_UPDATE = Histogram(
    "namecase_event_to_update_seconds",
    "Time from an event's arrival to the record's update on the portal.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
