"""The portal state machine as a table (portals/lifecycle.py) and as drawn in docs/LIFECYCLE.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from namecase.admin.explain import STATE_WORDS
from namecase.bitrix import (
    AppNotInstalled,
    InvalidGrant,
    PaymentRequired,
    PortalDeleted,
    PortalDisabled,
    error_from_response,
)
from namecase.portals.lifecycle import TRANSITIONS, Trigger, next_state, trigger_of
from namecase.portals.models import PortalState

DOC = Path(__file__).resolve().parents[2] / "docs" / "LIFECYCLE.md"
_EDGE = re.compile(r"^\s*(\w+) --> (\w+): (\w+)\s*$")


def _reachable_from(start: PortalState) -> set[PortalState]:
    seen = {start}
    frontier = [start]
    while frontier:
        state = frontier.pop()
        for (source, _trigger), target in TRANSITIONS.items():
            if source is state and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


@pytest.mark.parametrize("state", [s for s in PortalState if s is not PortalState.UNINSTALLED])
def test_every_state_but_uninstalled_has_a_way_back_to_active(state: PortalState) -> None:
    assert PortalState.ACTIVE in _reachable_from(state)
    assert (state, Trigger.UNINSTALL_CONFIRMED) in TRANSITIONS


def test_only_a_new_install_leaves_uninstalled() -> None:
    leaving = {
        trigger
        for (source, trigger), target in TRANSITIONS.items()
        if source is PortalState.UNINSTALLED and target is not source
    }
    assert leaving == {Trigger.INSTALLED}


@pytest.mark.parametrize("trigger", list(Trigger))
def test_an_install_and_a_confirmed_uninstall_are_the_only_ways_in_and_out(
    trigger: Trigger,
) -> None:
    assert next_state(PortalState.UNINSTALLED, trigger) == (
        PortalState.ACTIVE if trigger is Trigger.INSTALLED else None
    )


def test_a_trigger_that_changes_nothing_is_no_transition() -> None:
    assert next_state(PortalState.PAYMENT_REQUIRED, Trigger.PAYMENT_REQUIRED) is None
    assert next_state(PortalState.ACTIVE, Trigger.RECOVERED) is None
    assert next_state(PortalState.AUTH_FAILED, Trigger.NOT_ANSWERING) is None


def test_the_diagram_in_docs_lifecycle_is_the_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    diagram = text.split("```mermaid", 1)[1].split("```", 1)[0]
    drawn = {
        (PortalState(m.group(1)), Trigger(m.group(3)), PortalState(m.group(2)))
        for line in diagram.splitlines()
        if (m := _EDGE.match(line))
    }
    table = {(source, trigger, target) for (source, trigger), target in TRANSITIONS.items()}
    assert drawn == table
    assert "[*] --> active: installed" in diagram


@pytest.mark.parametrize(
    ("error", "trigger"),
    [
        (PaymentRequired("PAYMENT_REQUIRED"), Trigger.PAYMENT_REQUIRED),
        (PortalDeleted("PORTAL_DELETED"), Trigger.PORTAL_CLOSED),
        (InvalidGrant("invalid_grant"), Trigger.TOKENS_REFUSED),
        (AppNotInstalled("invalid_client"), Trigger.TOKENS_REFUSED),
        (PortalDisabled("NO_AUTH_FOUND"), Trigger.TOKENS_REFUSED),
    ],
)
def test_each_refusal_is_the_trigger_of_its_state(error: PortalDisabled, trigger: Trigger) -> None:
    assert trigger_of(error) is trigger


def test_a_closed_on_premise_portal_is_unreachable_not_uninstalled() -> None:
    # "Публичная часть сайта закрыта" (_includes/system-errors.md): temporary.
    error = error_from_response(500, {"error": "PORTAL_DELETED", "error_description": "x"})
    assert isinstance(error, PortalDeleted)
    assert next_state(PortalState.ACTIVE, trigger_of(error)) is PortalState.UNREACHABLE
    assert next_state(PortalState.UNREACHABLE, Trigger.RECOVERED) is PortalState.ACTIVE


def test_payment_required_is_never_an_uninstall() -> None:
    assert not PaymentRequired("PAYMENT_REQUIRED").confirms_uninstall
    assert next_state(PortalState.ACTIVE, Trigger.PAYMENT_REQUIRED) is PortalState.PAYMENT_REQUIRED


def test_which_states_keep_events_and_which_are_probed() -> None:
    assert {s for s in PortalState if s.accepts_events} == {
        PortalState.ACTIVE,
        PortalState.PAYMENT_REQUIRED,
        PortalState.UNREACHABLE,
    }
    assert {s for s in PortalState if s.recoverable} == {
        PortalState.PAYMENT_REQUIRED,
        PortalState.UNREACHABLE,
    }
    assert {s for s in PortalState if s.served} == {PortalState.ACTIVE}


def test_every_state_is_explained_to_the_operator() -> None:
    assert set(STATE_WORDS) == {state.value for state in PortalState}
    assert all(f"`{state.value}`" in DOC.read_text(encoding="utf-8") for state in PortalState)
