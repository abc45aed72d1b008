"""Portal REST methods (bitrix24-protocol.md §3, §5-§7, §9), independent of HTTP.

``RestApi.execute`` takes a method name and decoded parameters and returns the HTTP status
and JSON body a Bitrix24 portal would answer with: authentication, payment state, scope,
operating-time limit, the method itself, and the ``time`` block.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from namecase.emulator import errors
from namecase.emulator.batch import BATCH_LIMIT, PARTS, batch_items, php_array, substitute_results
from namecase.emulator.bxtime import format_bitrix_datetime, time_block
from namecase.emulator.calls import CallContext, MethodHandler, MethodResult, as_int
from namecase.emulator.errors import RestError
from namecase.emulator.event_methods import event_methods
from namecase.emulator.offline_methods import offline_methods, wrong_license
from namecase.emulator.phpform import decode_php_query, php_values
from namecase.emulator.portal import Portal
from namecase.emulator.tokens import AccessGrant

if TYPE_CHECKING:
    from namecase.emulator.emulator import Emulator


class RestApi:
    """Dispatches REST calls for the portals of one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.methods: dict[str, tuple[str, MethodHandler]] = {
            "app.info": ("", _app_info),
            "profile": ("", _profile),
            "user.admin": ("", _user_admin),
            "user.current": ("", _user_current),
            "scope": ("", _scope),
            **event_methods(),
            **offline_methods(),
        }
        for entity in ("contact", "lead"):
            self.methods.update(_crm_methods(entity))

    def execute(
        self, portal: Portal, method: str, params: dict[str, Any], started: float
    ) -> tuple[int, dict[str, Any]]:
        """Run one HTTP-level call and return ``(status, body)``."""
        # Offline changes made by this request ring the doorbell once, when it ends (doorbell.py).
        with self.emulator.offline_request(portal):
            try:
                if portal.closed:
                    raise errors.portal_deleted()
                context = self._authenticate(portal, params.pop("auth", None), started)
                context.connector = _connector(portal, params)
                if method == "batch":
                    portal.stats.calls_by_method["batch"] += 1
                    result = self._batch(context, params)
                    return 200, self._success(result, started, method=None, portal=portal)
                return 200, self._call(context, method, params, started)
            except RestError as error:
                return error.status, self._error_body(error, portal, method, started)

    def _authenticate(self, portal: Portal, token: Any, now: float) -> CallContext:
        if portal.plan == "free":
            raise errors.rest_only_on_commercial_plans()
        if not isinstance(token, str) or not token:
            raise errors.no_auth_found()
        grant: AccessGrant = self.emulator.tokens.authenticate(token, now)
        if grant.member_id != portal.member_id or not portal.app_installed:
            raise errors.no_auth_found()
        if portal.payment_required:
            raise errors.payment_required()
        user = portal.users[grant.user_id]
        return CallContext(emulator=self.emulator, portal=portal, user=user, now=now)

    def _call(
        self, context: CallContext, method: str, params: dict[str, Any], started: float
    ) -> dict[str, Any]:
        result = self._run_method(context, method, params)
        return self._success(result, started, method=method, portal=context.portal)

    def _run_method(
        self, context: CallContext, method: str, params: dict[str, Any]
    ) -> MethodResult:
        portal = context.portal
        entry = self.methods.get(method)
        if entry is None:
            raise errors.method_not_found()
        scope, handler = entry
        if scope and scope not in self.emulator.config.scope.split(","):
            raise errors.insufficient_scope()
        limit = portal.faults.operating_limit_seconds.get(method)
        if portal.operating.is_blocked(method, limit, context.now):
            portal.stats.rejected_429 += 1
            raise errors.operation_time_limit()
        portal.stats.calls_by_method[method] += 1
        began = time.perf_counter()
        try:
            return handler(context, {key.lower(): value for key, value in params.items()})
        finally:
            cost = portal.faults.operating_cost_seconds.get(method)
            spent = cost if cost is not None else time.perf_counter() - began
            portal.operating.record(method, spent, context.now)

    def _batch(self, context: CallContext, params: dict[str, Any]) -> MethodResult:
        params = {key.lower(): value for key, value in params.items()}
        halt = str(params.get("halt", "0")).lower() in ("1", "true", "y")
        items = batch_items(params.get("cmd"))
        parts: dict[str, dict[str, Any]] = {name: {} for name in PARTS}
        for key, command in items[:BATCH_LIMIT]:
            failed = self._batch_command(context, key, command, parts)
            if failed and halt:
                break
        # "При превышении подзапросы сверх лимита завершаются ошибкой ERROR_BATCH_LENGTH_EXCEEDED"
        # (settings/how-to-call-rest-api/batch.md): the first 50 run, only the extra ones fail.
        for key, _command in items[BATCH_LIMIT:]:
            parts["result_error"][key] = errors.batch_length_exceeded().body()
        return MethodResult(result={name: php_array(part) for name, part in parts.items()})

    def _batch_command(
        self, context: CallContext, key: str, command: Any, parts: dict[str, dict[str, Any]]
    ) -> bool:
        started = time.time()
        method, _, query = str(command).partition("?")
        method = _method_name(method)
        try:
            if method == "batch":
                raise RestError(
                    405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage"
                )
            sub_params = substitute_results(decode_php_query(query), parts["result"])
            sub_params.pop("auth", None)
            # A command's own auth_connector, else the batch's: [3P-src] suggests the batch's
            # auth parameters reach every command; UNCONFIRMED (§10), so both are honoured.
            own = _connector(context.portal, sub_params)
            command_context = replace(context, connector=own or context.connector)
            outcome = self._run_method(command_context, method, sub_params)
        except RestError as error:
            parts["result_error"][key] = error.body()
            return True
        parts["result"][key] = outcome.result
        if outcome.total is not None:
            parts["result_total"][key] = outcome.total
        if outcome.next is not None:
            parts["result_next"][key] = outcome.next
        parts["result_time"][key] = self._time_block(started, context.portal, method)
        return False

    def _success(
        self, outcome: MethodResult, started: float, method: str | None, portal: Portal
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"result": outcome.result}
        if outcome.next is not None:
            body["next"] = outcome.next
        if outcome.total is not None:
            body["total"] = outcome.total
        body["time"] = self._time_block(started, portal, method)
        return body

    def _error_body(
        self, error: RestError, portal: Portal, method: str, started: float
    ) -> dict[str, Any]:
        # No `time` block, not even on a 429: limits.md has the first retry follow
        # "operating_reset_at из последнего успешного ответа".
        return error.body()

    def _time_block(self, started: float, portal: Portal, method: str | None) -> dict[str, Any]:
        finished = self.emulator.now()
        block: dict[str, Any] = time_block(started, finished, portal.tz)
        if method is not None:
            reset_at = portal.operating.reset_at(method, finished)
            if reset_at is not None:
                block["operating_reset_at"] = reset_at
            block["operating"] = portal.operating.operating(method, finished)
        return block


def _connector(portal: Portal, params: dict[str, Any]) -> str:
    """Take the call's `auth_connector` (a top-level parameter next to `auth`, §10). On a portal
    without the feature any call carrying it is refused, as [3P-src] checks it when it
    authenticates (403 WRONG_LICENSE, §10 "Binding")."""
    value = params.pop("auth_connector", None)
    connector = "" if value is None or isinstance(value, list | dict) else str(value).strip()
    if connector and not portal.features.auth_connector:
        raise wrong_license("auth_connector")
    return connector


def _method_name(raw: str) -> str:
    name = raw.strip().strip("/").lower()
    return name.removesuffix(".json")


# --- app and user methods (§9) -------------------------------------------------------


def _app_info(context: CallContext, params: dict[str, Any]) -> MethodResult:
    portal, config = context.portal, context.emulator.config
    license_type, family = portal.license
    return MethodResult(
        {
            "ID": config.app_id,
            "CODE": config.client_id,
            "VERSION": config.app_version,
            "STATUS": config.app_status,
            "INSTALLED": portal.install_finished,
            "PAYMENT_EXPIRED": "Y" if portal.payment_required else "N",
            "DAYS": None,
            "LANGUAGE_ID": portal.language,
            "LICENSE": f"ru_{license_type}",
            "LICENSE_TYPE": license_type,
            "LICENSE_FAMILY": family,
        }
    )


def _profile(context: CallContext, params: dict[str, Any]) -> MethodResult:
    user = context.user
    return MethodResult(
        {
            "ID": str(user.id),
            "ADMIN": user.admin,
            "NAME": user.name,
            "LAST_NAME": user.last_name,
            "PERSONAL_GENDER": "",
            "TIME_ZONE": "",
        }
    )


def _user_admin(context: CallContext, params: dict[str, Any]) -> MethodResult:
    return MethodResult(context.user.admin)


def _user_current(context: CallContext, params: dict[str, Any]) -> MethodResult:
    user = context.user
    return MethodResult(
        {"ID": str(user.id), "ACTIVE": True, "NAME": user.name, "LAST_NAME": user.last_name}
    )


def _scope(context: CallContext, params: dict[str, Any]) -> MethodResult:
    return MethodResult(context.emulator.config.scope.split(","))


# --- CRM (§7) ---------------------------------------------------------------------------


def _crm_methods(entity: str) -> dict[str, tuple[str, MethodHandler]]:
    def add(context: CallContext, params: dict[str, Any]) -> MethodResult:
        fields = _fields_param(params)
        portal = context.portal
        now_text = format_bitrix_datetime(context.now, portal.tz)
        record_id = portal.store(entity).add(fields, context.user.id, now_text)
        context.emulator.crm_changed(
            portal, entity, "ADD", record_id, context.user.id, False, context.connector
        )
        return MethodResult(record_id)

    def get(context: CallContext, params: dict[str, Any]) -> MethodResult:
        record_id = _record_id(params)
        record = context.portal.store(entity).get(record_id)
        if record is None:
            raise errors.crm_error("Not found")
        context.portal.stats.reads_per_record[(entity, record_id)] += 1
        return MethodResult(record)

    def update(context: CallContext, params: dict[str, Any]) -> MethodResult:
        record_id = _record_id(params)
        fields = _fields_param(params)
        portal = context.portal
        store = portal.store(entity)
        now_text = format_bitrix_datetime(context.now, portal.tz)
        if not store.update(record_id, fields, context.user.id, now_text):
            raise errors.crm_error(store.schema.not_found_on_update)
        portal.stats.updates_per_record[(entity, record_id)] += 1
        context.emulator.crm_changed(
            portal, entity, "UPDATE", record_id, context.user.id, False, context.connector
        )
        return MethodResult(True)

    def delete(context: CallContext, params: dict[str, Any]) -> MethodResult:
        record_id = _record_id(params)
        portal = context.portal
        if not portal.store(entity).delete(record_id):
            raise RestError(400, "ERROR_CORE", "Элемент не найден")
        context.emulator.crm_changed(
            portal, entity, "DELETE", record_id, context.user.id, False, context.connector
        )
        return MethodResult(True)

    def list_(context: CallContext, params: dict[str, Any]) -> MethodResult:
        filter_ = _array_param(params, "filter")
        order = _array_param(params, "order")
        select = [str(name) for name in php_values(params.get("select"))]
        page = context.portal.store(entity).list_page(
            filter_, order, select, as_int(params.get("start"))
        )
        reads = context.portal.stats.reads_per_record
        for row in page.rows:
            reads[(entity, as_int(row.get("ID")))] += 1
        return MethodResult(page.rows, total=page.total, next=page.next)

    prefix = f"crm.{entity}."
    return {
        prefix + "add": ("crm", add),
        prefix + "get": ("crm", get),
        prefix + "update": ("crm", update),
        prefix + "delete": ("crm", delete),
        prefix + "list": ("crm", list_),
    }


def _record_id(params: Mapping[str, Any]) -> int:
    record_id = as_int(params.get("id"))
    if record_id <= 0:
        raise errors.crm_error("ID is not defined or invalid.")
    return record_id


def _fields_param(params: Mapping[str, Any]) -> dict[str, Any]:
    fields = params.get("fields")
    if isinstance(fields, list) and not fields:
        return {}  # an empty PHP array
    if not isinstance(fields, dict):
        raise errors.crm_error("Parameter 'fields' must be array")
    extra = params.get("params")
    if extra is not None and not isinstance(extra, dict | list):
        raise errors.crm_error("Parameter 'params' must be array")
    return fields


def _array_param(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name)
    if value is None or value == [] or value == "":
        return {}
    if not isinstance(value, dict):
        raise errors.crm_error(f"Parameter '{name}' must be array")
    return value
