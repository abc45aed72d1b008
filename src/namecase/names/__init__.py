"""Pure name-case engine for CRM person-name fields.

``normalize_name(value, field, options)`` proper-cases a name; ``explain`` says which rule
changed which word (codes in ``RULE_TEXT``, with Russian and English texts for the UI).
"""

from __future__ import annotations

from namecase.names.engine import normalize_name
from namecase.names.explain import Correction, explain
from namecase.names.options import DEFAULT, NameOptions
from namecase.names.rules import RULE_TEXT

__all__ = ["DEFAULT", "RULE_TEXT", "Correction", "NameOptions", "explain", "normalize_name"]
