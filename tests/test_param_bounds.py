"""Every integer a request may carry is bounded: extreme values are a 4xx, never a 5xx (issue 14
item 4). The routes and their integer parameters are read from the OpenAPI schema, so a route
added later is walked too; the form routes outside the schema are listed by hand."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from namecase.bitrix import encode_php_form
from namecase.db import ROW_ID_MAX
from support.stack import Stack
from ui.harness import frame_request, open_frame, page_stack, page_token

ADMIN_TOKEN = "param-bounds-admin-token-0123456789"
EXTREMES: list[Any] = [
    2**63,
    2**64,
    -(2**63) - 1,
    10**30,
    -1,
    0,
    "1e309",
    "NaN",
    "9" * 5000,
    "0x10",
    "",
]


def _is_integer(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "integer":
        return True
    return any(_is_integer(option) for option in schema.get("anyOf", []))


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        resolved: dict[str, Any] = spec["components"]["schemas"][name]
        return resolved
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return _resolve(spec, option)
    return schema


def _body_with(spec: dict[str, Any], schema: dict[str, Any], extreme: Any) -> Any | None:
    """A valid-looking body whose integer fields (and integer list items) hold `extreme`."""
    schema = _resolve(spec, schema)
    body: dict[str, Any] = {}
    has_integer = False
    for name, field in schema.get("properties", {}).items():
        field = _resolve(spec, field)
        items = _resolve(spec, field.get("items", {}))
        if _is_integer(field):
            body[name], has_integer = extreme, True
        elif field.get("type") == "array" and _is_integer(items):
            body[name], has_integer = [extreme], True
        elif field.get("type") == "boolean":
            body[name] = True
        elif field.get("type") == "array":
            body[name] = items.get("enum", ["x"])[:1]
        else:
            body[name] = "x"
    return body if has_integer else None


async def _headers_for(http: httpx.AsyncClient, stack: Stack, path: str) -> dict[str, str]:
    if path.startswith("/admin"):
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if path.startswith("/app/api"):
        portal = next(iter(stack.emulator.portals.values()))
        page = await open_frame(http, stack, portal)
        return {"Authorization": f"Bearer {page_token(page)}"}
    return {}


async def _walk(
    http: httpx.AsyncClient, stack: Stack, spec: dict[str, Any], member_id: str
) -> tuple[set[str], list[str]]:
    """Send every extreme to every integer query parameter and body field; (walked, 5xx)."""
    walked: set[str] = set()
    failures: list[str] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            headers = await _headers_for(http, stack, path)
            url = path.replace("{member_id}", member_id)
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query" or not _is_integer(parameter["schema"]):
                    continue
                walked.add(f"{method} {path}?{parameter['name']}")
                for extreme in EXTREMES:
                    params = {parameter["name"]: extreme}
                    answer = await http.request(method, url, params=params, headers=headers)
                    if answer.status_code >= 500:
                        failures.append(f"{method} {path} {params}")
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            for extreme in EXTREMES if schema else []:
                payload = _body_with(spec, schema, extreme)
                if payload is None:
                    break  # no integer in this body
                walked.add(f"{method} {path} body")
                answer = await http.request(method, url, json=payload, headers=headers)
                if answer.status_code >= 500:
                    failures.append(f"{method} {path} {payload}")
    return walked, failures


async def test_every_integer_parameter_of_every_route_is_bounded(pg_database_url: str) -> None:
    async with page_stack(pg_database_url, admin_token=ADMIN_TOKEN) as stack:
        portal = await stack.installed_portal()
        async with httpx.AsyncClient(base_url=stack.app_url, timeout=60) as http:
            spec = (await http.get("/openapi.json")).json()
            walked, failures = await _walk(http, stack, spec, portal.member_id)

    assert failures == []
    assert {
        "get /app/api/changes?before_id",
        "get /app/api/changes?limit",
        "get /admin/status?offset",
        "get /admin/status?limit",
        "get /admin/status?calls",
        "post /app/api/undo body",
        "post /admin/portals/{member_id}/replay body",
    } <= walked


async def test_the_largest_row_id_is_accepted(pg_database_url: str) -> None:
    async with page_stack(pg_database_url, admin_token=ADMIN_TOKEN) as stack:
        portal = await stack.installed_portal()
        async with httpx.AsyncClient(base_url=stack.app_url, timeout=60) as http:
            page = await open_frame(http, stack, portal)
            token = {"Authorization": f"Bearer {page_token(page)}"}
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            answers = [
                await http.get("/app/api/changes", params={"before_id": ROW_ID_MAX}, headers=token),
                await http.post("/app/api/undo", json={"ids": [ROW_ID_MAX]}, headers=token),
                await http.get("/admin/status", params={"offset": ROW_ID_MAX}, headers=admin),
                await http.post(
                    f"/admin/portals/{portal.member_id}/replay",
                    json={"ids": [ROW_ID_MAX]},
                    headers=admin,
                ),
            ]
            over = await http.get(
                "/app/api/changes", params={"before_id": ROW_ID_MAX + 1}, headers=token
            )

    assert [answer.status_code for answer in answers] == [200] * 4
    assert over.status_code == 422


@pytest.mark.parametrize("extreme", EXTREMES)
async def test_integers_in_the_form_routes_are_bounded(pg_database_url: str, extreme: Any) -> None:
    async with page_stack(pg_database_url) as stack:
        portal = await stack.installed_portal()
        async with httpx.AsyncClient(base_url=stack.app_url, timeout=60) as http:
            query, form = frame_request(stack, portal, AUTH_EXPIRES=str(extreme))
            frame = await http.post("/app", params=query, data=form)
            install = await http.post(
                "/install", data={**form, "AUTH_EXPIRES": str(extreme), "REFRESH_ID": "r"}
            )
            event = await http.post(
                "/events",
                content=encode_php_form(
                    {
                        "event": "ONCRMCONTACTUPDATE",
                        "data": {"FIELDS": {"ID": str(extreme)}},
                        "auth": {
                            "member_id": portal.member_id,
                            "application_token": portal.application_token or "",
                        },
                    }
                ),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )

    assert frame.status_code < 500 and install.status_code < 500 and event.status_code < 500
