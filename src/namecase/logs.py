"""Structured logging: JSON lines off a terminal, a request id on every line, secrets scrubbed.

Nothing we log should carry a token, but a scrubbing filter is the second line of defence: any
`key=value` or `"key": "value"` pair whose key names a credential is masked before it is written.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_CREDENTIAL_NAMES = (
    r"access_token|refresh_token|client_secret|application_token|auth_id|refresh_id|"
    r"auth\[[a-z_]*token\]|auth|password|authorization"
)
_SECRET_PAIR = re.compile(
    rf"""(?ix)
    (?P<key>["']?(?:{_CREDENTIAL_NAMES})["']?\s*[=:]\s*["']?(?:bearer\s+)?)
    (?P<value>[^"'&\s,}}]+)
    """
)
_SKIPPED_ATTRS = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}


def scrub(text: str) -> str:
    """Mask the values of credential-looking key/value pairs in free text."""
    return _SECRET_PAIR.sub(lambda match: f"{match.group('key')}***", text)


class ScrubFilter(logging.Filter):
    """Renders the message once, scrubbed, so handlers never see the raw arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line with time, level, logger, message, request id and extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            payload["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _SKIPPED_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = scrub(self.formatException(record.exc_info))
        return scrub(json.dumps(payload, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        prefix = f"[{rid}] " if rid else ""
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.name}: "
        text = line + prefix + record.getMessage()
        if record.exc_info:
            text += "\n" + scrub(self.formatException(record.exc_info))
        return text


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Install our handler on the root logger (idempotent)."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.addFilter(ScrubFilter())
    handler.set_name("namecase")
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "namecase"]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Our own request log replaces uvicorn's access log, which would print query strings
    # (the frame's AUTH_ID arrives that way in GET tests).
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("httpx", "httpcore", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
