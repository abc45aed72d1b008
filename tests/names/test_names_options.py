"""NameOptions: immutable, hashable, and round-trips through portal settings JSON."""

from __future__ import annotations

import dataclasses
import json

import pytest

from namecase.names import DEFAULT, NameOptions, normalize_name


def test_defaults_are_the_recommended_rules() -> None:
    assert NameOptions() == DEFAULT
    assert DEFAULT.particles is True
    assert DEFAULT.keep_latin_mixed_case is True
    assert DEFAULT.fix_lookalikes is True


def test_options_are_frozen_and_hashable() -> None:
    options = NameOptions(particles=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.particles = True  # type: ignore[misc]
    assert {options, NameOptions(particles=False)} == {options}


def test_options_round_trip_through_json_settings() -> None:
    stored = json.dumps(NameOptions(particles=False).to_dict())
    assert NameOptions(**json.loads(stored)) == NameOptions(particles=False)
    assert NameOptions.from_dict(json.loads(stored)) == NameOptions(particles=False)


def test_settings_from_another_version_keep_the_known_switches() -> None:
    stored = {"particles": False, "title_case_suffixes": True}
    assert NameOptions.from_dict(stored) == NameOptions(particles=False)
    assert NameOptions.from_dict({}) == DEFAULT
    # Stored before the look-alike switch existed: it is on, like every default.
    assert NameOptions.from_dict({"particles": True, "keep_latin_mixed_case": False}).fix_lookalikes


def test_the_look_alike_switch_must_be_a_real_bool() -> None:
    with pytest.raises(TypeError, match="fix_lookalikes"):
        NameOptions(fix_lookalikes="false")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["false", 0, None, 1.0])
def test_a_switch_must_be_a_real_bool(value: object) -> None:
    with pytest.raises(TypeError, match="particles"):
        NameOptions(particles=value)  # type: ignore[arg-type]


def test_options_change_the_result_only_where_their_rule_applies() -> None:
    plain = NameOptions(particles=False, keep_latin_mixed_case=False, fix_lookalikes=False)
    assert normalize_name("ИВАН ПЕТРОВ", "any", plain) == "Иван Петров"
    assert normalize_name("Смирнoв", "last", plain) == "Смирнoв"  # a Latin o, left
    assert normalize_name("ludwig van beethoven", "any", plain) == "Ludwig Van Beethoven"
    assert normalize_name("DeVito", "last", plain) == "Devito"
