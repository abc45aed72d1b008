"""Pure name-case engine: ``normalize_name(value, field)`` for CRM person-name fields."""

from __future__ import annotations

from namecase.names.engine import normalize_name
from namecase.names.options import DEFAULT, NameOptions

__all__ = ["DEFAULT", "NameOptions", "normalize_name"]
