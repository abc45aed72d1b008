"""The pure rules of undo and of the page token (no server, no database)."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from namecase.pipeline.models import Change
from namecase.ui.page_token import PAGE_TOKEN_SECONDS, InvalidPageToken, PageTokenSigner
from namecase.ui.undo import plan_undo, undoable


def change(
    id: int, field: str, before: str, after: str, entity_id: int = 7, **extra: object
) -> Change:
    return Change(
        id=id,
        member_id="m",
        entity_type="contact",
        entity_id=entity_id,
        field=field,
        before=before,
        after=after,
        reasons=[],
        dry_run=bool(extra.get("dry_run", False)),
        undone_at=extra.get("undone_at"),
    )


def test_undoing_a_chain_of_corrections_restores_the_oldest_typed_value() -> None:
    first = change(1, "NAME", "иВАН", "Иван")
    second = change(2, "NAME", "ИВАН", "Иван")  # typed again in caps, corrected again

    plan = plan_undo([first, second], {("contact", 7): {"NAME": "Иван"}})

    # The newest is unwound first (Иван → ИВАН); the older no longer matches what is there.
    assert [(r.fields, r.change_ids) for r in plan.restores] == [({"NAME": "ИВАН"}, [2])]
    assert plan.skipped == {1: "changed_since"}


def test_corrections_of_several_fields_of_one_record_are_one_write() -> None:
    plan = plan_undo(
        [change(1, "NAME", "иВАН", "Иван"), change(2, "LAST_NAME", "ПЕТРОВ", "Петров")],
        {("contact", 7): {"NAME": "Иван", "LAST_NAME": "Петров"}},
    )

    (restore,) = plan.restores
    assert restore.fields == {"NAME": "иВАН", "LAST_NAME": "ПЕТРОВ"}
    assert sorted(restore.change_ids) == [1, 2]


def test_a_deleted_record_and_an_edited_field_are_left_alone() -> None:
    plan = plan_undo(
        [change(1, "NAME", "иВАН", "Иван", entity_id=1), change(2, "NAME", "оЛЯ", "Оля", 2)],
        {("contact", 1): None, ("contact", 2): {"NAME": "Ольга"}},
    )

    assert plan.restores == []
    assert plan.skipped == {1: "record_gone", 2: "changed_since"}


def test_trial_and_undone_corrections_are_not_undoable() -> None:
    now = dt.datetime.now(dt.UTC)
    ready, skipped = undoable(
        [
            change(1, "NAME", "a", "A"),
            change(2, "NAME", "b", "B", dry_run=True),
            change(3, "NAME", "c", "C", undone_at=now),
        ]
    )

    assert [c.id for c in ready] == [1]
    assert skipped == {2: "dry_run", 3: "already_undone"}


def test_a_page_token_names_its_portal_and_expires() -> None:
    signer = PageTokenSigner("key-one")
    token = signer.issue("member-1", "ru", admin=True, now=1000.0)

    grant = signer.verify(token, now=1000.0 + PAGE_TOKEN_SECONDS - 1)

    assert (grant.member_id, grant.lang, grant.admin) == ("member-1", "ru", True)
    assert not signer.verify(
        signer.issue("member-1", "ru", admin=False, now=1000.0), now=1000.0
    ).admin
    with pytest.raises(InvalidPageToken, match="expired"):
        signer.verify(token, now=1000.0 + PAGE_TOKEN_SECONDS)
    with pytest.raises(InvalidPageToken, match="signature"):
        PageTokenSigner("key-two").verify(token, now=1000.0)
    for garbage in ("", ".", "abc", "a.b", token + "x", "é.é"):
        with pytest.raises(InvalidPageToken):
            signer.verify(garbage, now=1000.0)


def test_a_page_token_without_the_admin_claim_grants_no_admin() -> None:
    # Tokens signed before the claim existed (still within their hour) may only read.
    signer = PageTokenSigner("key-one")
    legacy = json.dumps({"m": "member-1", "l": "en", "e": 2000}, separators=(",", ":")).encode()
    encoded = base64.urlsafe_b64encode(legacy).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(signer._sign(legacy)).rstrip(b"=").decode()

    grant = signer.verify(f"{encoded}.{signature}", now=1000.0)

    assert grant.member_id == "member-1" and not grant.admin
