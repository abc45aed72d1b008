"""The JSON control API under ``{base}/_emulator/``: the Python API for other processes.

Benchmarks and browser tests that run the emulator in another process create portals,
install the app, act as users, inject faults and read stats through these endpoints.
The route table is in ``ControlApi.handle``; docs/EMULATOR.md lists every route.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs

from namecase.emulator.emulator import Emulator, RecordNotFoundError, UnknownPortalError
from namecase.emulator.portal import Portal
from namecase.emulator.wire import Receive, Scope, Send, read_body, send_bytes, send_json


class ControlError(Exception):
    """A control API request that cannot be served."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ControlApi:
    """Routes ``/_emulator/...`` requests to the ``Emulator`` methods."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def handle(self, scope: Scope, receive: Receive, send: Send, route: str) -> None:
        """Serve one control request."""
        verb = scope["method"]
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        try:
            raw = await read_body(receive)
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ControlError(400, "the body must be a JSON object")
            status, result = await self._route(verb, route.strip("/").split("/"), query, body)
        except ControlError as error:
            status, result = error.status, {"error": error.message}
        except (UnknownPortalError, RecordNotFoundError) as error:
            status, result = 404, {"error": f"not found: {error}"}
        except (ValueError, KeyError, TypeError) as error:
            status, result = 400, {"error": f"bad request: {error!r}"}
        await send_json(send, status, result)

    async def _route(
        self, verb: str, parts: list[str], query: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, Any]:
        emulator = self.emulator
        if parts == [""] or parts == ["info"]:
            return 200, self._info()
        if parts == ["portals"]:
            if verb == "POST":
                return 201, self._create_portal(body)
            return 200, [self._portal_view(p) for p in emulator.portals.values()]
        if parts == ["install", "finish"] and verb == "POST":
            portal = emulator.portal_from_frame(query.get("domain"), query.get("member_id"))
            emulator.finish_install(portal.member_id)
            return 200, {"finished": portal.install_finished}
        if parts == ["frame-auth"]:
            return 200, self._frame_auth(query)
        if parts == ["deliveries"]:
            return 200, self._deliveries(query)
        if parts == ["deliveries", "wait-idle"] and verb == "POST":
            await emulator.wait_deliveries_idle()
            return 200, {"pending": emulator.dispatcher.pending}
        if parts == ["stats"]:
            return 200, {
                "refresh_count": emulator.refresh_count,
                "portals": {m: p.stats.as_dict() for m, p in emulator.portals.items()},
            }
        if len(parts) >= 2 and parts[0] == "portals":
            portal = emulator.portal(parts[1])
            return await self._portal_route(verb, portal, parts[2:], body)
        raise ControlError(404, f"no control route {verb} /{'/'.join(parts)}")

    async def _portal_route(
        self, verb: str, portal: Portal, parts: list[str], body: dict[str, Any]
    ) -> tuple[int, Any]:
        emulator, member_id = self.emulator, portal.member_id
        action = "/".join(parts)
        if action == "":
            return 200, self._portal_view(portal)
        if action == "install" and verb == "POST":
            response = await emulator.install_app(
                member_id,
                str(body["install_url"]),
                lang=str(body.get("lang", "ru")),
                user_id=int(body.get("user_id", 1)),
            )
            return 200, {
                "status": response.status_code,
                "finished": portal.install_finished,
                "body": response.text[:2000],
            }
        if action == "install/finish" and verb == "POST":
            emulator.finish_install(member_id)
            return 200, {"finished": portal.install_finished}
        if action == "uninstall" and verb == "POST":
            emulator.uninstall_app(member_id, clean=bool(body.get("clean", True)))
            return 200, {"installed": portal.app_installed}
        if action == "faults":
            if verb in ("PUT", "PATCH", "POST"):
                portal.faults.update(body)
            return 200, portal.faults.as_dict()
        if action == "stats":
            return 200, portal.stats.as_dict()
        if action == "features":  # offline events allowed or denied (doorbell.py)
            if verb in ("PUT", "PATCH", "POST"):
                portal.features.update(body)
            return 200, portal.features.as_dict()
        if action == "offline":  # the offline queue as it stands, every connector
            entries = portal.offline.entries.values()
            return 200, [{**e.as_listed(portal.tz), "CONNECTOR_ID": e.connector} for e in entries]
        if len(parts) == 3 and parts[0] == "users" and parts[2] == "admin" and verb == "POST":
            emulator.set_admin(member_id, int(parts[1]), bool(body["admin"]))
            return 200, {"user_id": int(parts[1]), "admin": portal.users[int(parts[1])].admin}
        if parts and parts[0] in ("contacts", "leads"):
            return await self._record_route(verb, portal, parts, body)
        return self._portal_event(verb, portal, action, body)

    def _portal_event(
        self, verb: str, portal: Portal, action: str, body: dict[str, Any]
    ) -> tuple[int, Any]:
        emulator, member_id = self.emulator, portal.member_id
        if verb != "POST":
            raise ControlError(405, f"{action} needs POST")
        if action == "rename":
            emulator.rename_portal(member_id, str(body["domain"]))
        elif action == "revoke":
            emulator.revoke_tokens(member_id)
        elif action == "payment-required":
            emulator.set_payment_required(member_id, bool(body.get("required", True)))
        elif action == "closed":
            emulator.close_portal(member_id, bool(body.get("closed", True)))
        elif action == "update":
            emulator.update_app(member_id)
        elif action == "expire-tokens":
            emulator.expire_access_tokens(member_id)
        else:
            raise ControlError(404, f"no portal action {action!r}")
        return 200, self._portal_view(portal)

    async def _record_route(
        self, verb: str, portal: Portal, parts: list[str], body: dict[str, Any]
    ) -> tuple[int, Any]:
        emulator, member_id = self.emulator, portal.member_id
        entity = "contact" if parts[0] == "contacts" else "lead"
        user_id = int(body.get("user_id", 1))
        automation = bool(body.get("automation", False))
        if len(parts) == 1 and verb == "POST":
            fields = dict(body.get("fields", {}))
            add = emulator.user_add_contact if entity == "contact" else emulator.user_add_lead
            record_id = await add(member_id, fields, user_id=user_id, automation=automation)
            return 201, {"id": record_id}
        if len(parts) != 2:
            raise ControlError(404, "expected /contacts/{id} or /leads/{id}")
        record_id = int(parts[1])
        if verb == "GET":
            return 200, emulator.record(member_id, entity, record_id)
        if verb in ("POST", "PATCH", "PUT"):
            fields = dict(body.get("fields", {}))
            emulator.user_update(member_id, entity, record_id, fields, user_id, automation)
            return 200, {"ok": True}
        if verb == "DELETE":
            emulator.user_delete(member_id, entity, record_id, user_id)
            return 200, {"ok": True}
        raise ControlError(405, f"{verb} not allowed here")

    def _info(self) -> dict[str, Any]:
        emulator = self.emulator
        return {
            "base_url": emulator.base_url,
            "server_endpoint": emulator.server_endpoint,
            "oauth_token_url": emulator.oauth_token_url,
            "client_id": emulator.config.client_id,
            "client_secret": emulator.config.client_secret,
            "refresh_count": emulator.refresh_count,
            "portals": len(emulator.portals),
        }

    def _create_portal(self, body: dict[str, Any]) -> dict[str, Any]:
        depth = body.get("bucket_depth")
        drain = body.get("drain_per_second")
        portal = self.emulator.add_portal(
            domain=body.get("domain"),
            plan=str(body.get("plan", "basic")),
            member_id=body.get("member_id"),
            bucket_depth=int(depth) if depth is not None else None,
            drain_per_second=float(drain) if drain is not None else None,
        )
        portal.features.update(dict(body.get("features") or {}))
        return self._portal_view(portal)

    def _portal_view(self, portal: Portal) -> dict[str, Any]:
        return {
            "member_id": portal.member_id,
            "domain": portal.domain,
            "plan": portal.plan,
            "client_endpoint": portal.client_endpoint,
            "server_endpoint": self.emulator.server_endpoint,
            "app_installed": portal.app_installed,
            "install_finished": portal.install_finished,
            "application_token": portal.application_token,
            "payment_required": portal.payment_required,
            "closed": portal.closed,
            "handlers": [
                {
                    "id": h.id,
                    "event": h.event,
                    "handler": h.handler,
                    "auth_type": h.user_id,
                    "offline": h.offline,
                    "connector": h.connector,
                }
                for h in portal.handlers
            ],
            "features": portal.features.as_dict(),
        }

    def _frame_auth(self, query: dict[str, str]) -> dict[str, Any]:
        portal = self.emulator.portal_from_frame(query.get("domain"), query.get("member_id"))
        pair = self.emulator.frame_tokens(portal.member_id, int(query.get("user_id", "1")))
        return {
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "expires_in": pair.expires_in,
            "domain": portal.domain,
            "member_id": portal.member_id,
            "client_endpoint": portal.client_endpoint,
            "server_endpoint": self.emulator.server_endpoint,
        }

    def _deliveries(self, query: dict[str, str]) -> dict[str, Any]:
        member_id = query.get("member_id")
        offset = int(query.get("offset", "0"))
        limit = int(query.get("limit", "1000"))
        selected = [
            d for d in self.emulator.deliveries if member_id is None or d.member_id == member_id
        ]
        return {
            "total": len(selected),
            "deliveries": [d.as_dict() for d in selected[offset : offset + limit]],
        }

    async def portal_page(self, scope: Scope, send: Send, portal: Portal) -> None:
        """``{base}/{domain}/?app=URL``: a portal page that opens the app in a frame.

        The frame gets the documented POST (§1, §9) with a fresh user token pair, so a
        browser test can load the app's UI as Bitrix24 would.
        """
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        app_url = query.get("app")
        page = f"<h1>{html.escape(portal.domain)}</h1>"
        if app_url and portal.app_installed:
            page += self._frame_html(portal, app_url, query.get("lang", portal.language))
        document = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(portal.domain)}</title></head><body>{page}</body></html>"
        )
        await send_bytes(send, 200, document.encode(), b"text/html; charset=utf-8")

    def _frame_html(self, portal: Portal, app_url: str, lang: str) -> str:
        emulator = self.emulator
        pair = emulator.frame_tokens(portal.member_id)
        frame_query = emulator.frame_query(portal, lang)
        target = (
            app_url
            + ("&" if "?" in app_url else "?")
            + "&".join(f"{k}={v}" for k, v in frame_query.items())
        )
        inputs = "".join(
            f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
            for k, v in emulator.frame_form(portal, pair).items()
        )
        return (
            f"<form id='b24frame-form' method='post' target='b24frame' "
            f"action='{html.escape(target)}'>{inputs}</form>"
            "<iframe name='b24frame' style='width:100%;height:80vh;border:0'></iframe>"
            "<aside id='bx24-slider' hidden></aside>"
            "<script>document.getElementById('b24frame-form').submit();"
            # BX24.openPath from the app's frame: show the path as the portal's slider would.
            "window.addEventListener('message', function (e) {"
            "var frame = document.getElementsByName('b24frame')[0];"
            "if (e.source !== frame.contentWindow || !e.data || e.data.bx24 !== 'openPath') return;"
            "var slider = document.getElementById('bx24-slider');"
            "slider.textContent = e.data.path; slider.dataset.path = e.data.path;"
            "slider.hidden = false; });</script>"
        )
