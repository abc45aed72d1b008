"""PortalOptions carries the name engine's switches; the pipeline takes them from name_options()."""

from __future__ import annotations

from namecase.names import DEFAULT, NameOptions, normalize_name
from namecase.pipeline.service import plan_record
from namecase.portals.schemas import PortalOptions


def test_defaults_are_the_engine_defaults() -> None:
    assert PortalOptions().name_options() == DEFAULT


def test_settings_stored_before_the_look_alike_switch_read_as_on() -> None:
    stored = {"enabled": True, "particles": False, "keep_latin_mixed_case": True}
    options = PortalOptions.model_validate(stored)
    assert options.name_options() == NameOptions(particles=False, fix_lookalikes=True)


def test_every_switch_reaches_the_engine() -> None:
    options = PortalOptions(particles=False, keep_latin_mixed_case=False, fix_lookalikes=False)
    engine = options.name_options()
    assert engine == NameOptions(particles=False, keep_latin_mixed_case=False, fix_lookalikes=False)
    latin_o = "o"
    assert normalize_name(f"Смирн{latin_o}в", "last", engine) == f"Смирн{latin_o}в"
    assert normalize_name(f"Смирн{latin_o}в", "last", PortalOptions().name_options()) == "Смирнов"


def test_the_worker_plans_with_the_portals_switch() -> None:
    record = {"LAST_NAME": "Смирнoв"}  # a Latin o
    fixed = plan_record("contact", 1, record, PortalOptions(fields=("LAST_NAME",)))
    assert fixed.fields == {"LAST_NAME": "Смирнов"}
    assert fixed.changes[0].reasons == ("lookalike",)
    off = PortalOptions(fields=("LAST_NAME",), fix_lookalikes=False)
    assert plan_record("contact", 1, record, off).changes == ()
