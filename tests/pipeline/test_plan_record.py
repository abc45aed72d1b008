"""The loop guard, without a server: only fields whose normalized value differs are written."""

from __future__ import annotations

from namecase.pipeline.service import plan_record
from namecase.portals.schemas import PortalOptions

OPTIONS = PortalOptions()


def test_a_record_already_in_proper_case_plans_nothing() -> None:
    record = {"ID": "1", "NAME": "Анна-Мария", "SECOND_NAME": "", "LAST_NAME": "Иванова"}

    assert plan_record("contact", 1, record, OPTIONS).changes == ()


def test_only_the_changed_fields_are_planned_with_their_rules() -> None:
    record = {"NAME": "иВАН", "SECOND_NAME": "Петрович", "LAST_NAME": "людвиг ван бетховен"}

    plan = plan_record("contact", 1, record, OPTIONS)

    assert plan.fields == {"NAME": "Иван", "LAST_NAME": "Людвиг ван Бетховен"}
    assert all(change.reasons for change in plan.changes)


def test_the_plan_of_a_planned_write_is_empty_so_the_echo_ends_the_loop() -> None:
    record = {"NAME": "оЛЬГА", "LAST_NAME": "д'АРТАНЬЯН"}
    written = {**record, **plan_record("contact", 1, record, OPTIONS).fields}

    assert plan_record("contact", 1, written, OPTIONS).changes == ()


def test_a_value_restored_by_undo_is_kept_as_typed() -> None:
    record = {"NAME": "иВАН", "LAST_NAME": "ПЕТРОВ"}

    plan = plan_record("contact", 1, record, OPTIONS, kept={"NAME": "иВАН"})

    assert plan.fields == {"LAST_NAME": "Петров"}


def test_fields_the_portal_switched_off_are_never_planned() -> None:
    options = PortalOptions(fields=["LAST_NAME"])

    plan = plan_record("contact", 1, {"NAME": "иВАН", "LAST_NAME": "петров"}, options)

    assert plan.fields == {"LAST_NAME": "Петров"}


def test_missing_empty_and_non_text_values_are_left_alone() -> None:
    record = {"NAME": None, "SECOND_NAME": "", "LAST_NAME": ["not", "a", "name"]}

    assert plan_record("contact", 1, record, OPTIONS).changes == ()


def test_the_portals_look_alike_option_reaches_the_engine() -> None:
    record = {"LAST_NAME": "Смирнoв"}  # a Latin "o" in a Cyrillic surname

    fixed = plan_record("contact", 1, record, PortalOptions())
    kept = plan_record("contact", 1, record, PortalOptions(fix_lookalikes=False))

    assert fixed.fields == {"LAST_NAME": "Смирнов"}
    assert kept.changes == ()
