"""Secrets at rest: no token in clear in the database, and key rotation (issue 5 item 1)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import JSON, LargeBinary, String, Text, select
from sqlalchemy.engine import make_url

from namecase.portals.crypto import TokenCipher
from namecase.portals.keys import rotate_database_keys, rotate_keys
from namecase.runtime import Runtime
from namecase.schema import metadata
from support.stack import CLIENT_SECRET, Stack, running_stack

from .harness import issued_tokens, post_event, stored, update_app


async def _column_text(stack: Stack) -> str:
    """Every text and binary value of every table, as one string."""
    values: list[str] = []
    async with stack.runtime.sessions() as session:
        for table in metadata.sorted_tables:
            readable = [
                c for c in table.c if isinstance(c.type, String | Text | LargeBinary | JSON)
            ]
            rows = (await session.execute(select(*readable))).all()
            for row in rows:
                for value in row:
                    if isinstance(value, bytes):
                        values.append(value.decode("latin-1"))
                    elif value is not None:
                        values.append(str(value))
    return "\n".join(values)


async def _dump(stack: Stack, tmp_path: Path) -> str:
    """pg_dump of the PostgreSQL database, or the raw bytes of the SQLite file."""
    url = make_url(stack.settings.database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        files = [Path(url.database), Path(f"{url.database}-wal")]
        return "".join(p.read_bytes().decode("latin-1") for p in files if p.exists())
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return ""  # the column scan below still covers every stored value
    target = tmp_path / "dump.sql"
    process = await asyncio.create_subprocess_exec(
        pg_dump,
        "--data-only",
        "--file",
        str(target),
        url.set(drivername="postgresql").render_as_string(hide_password=False),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        if b"version mismatch" in stderr:
            return ""
        raise AssertionError(stderr.decode())
    dump = target.read_text()
    assert "COPY public.portals" in dump
    return dump


async def test_no_token_or_secret_is_stored_in_clear(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.drain()
        stack.emulator.expire_access_tokens(portal.member_id)  # a refresh stores a new pair
        await stack.emulator.user_add_contact(portal.member_id, {"NAME": "пЁТР"})
        await stack.drain()
        auth = update_app(stack.emulator, portal)  # an event carrying tokens
        assert (await post_event(stack, "ONAPPUPDATE", auth)).status_code == 200
        await stack.drain()
        row = await stored(stack, portal.member_id)
        assert row is not None and row.token_version >= 3

        secrets = issued_tokens(stack.emulator, portal.member_id)
        secrets |= {auth["application_token"], CLIENT_SECRET}
        dump = await _dump(stack, tmp_path)
        columns = await _column_text(stack)

        assert len(secrets) >= 8
        assert "crm.contact.update" in columns  # the call log is there, and scanned
        leaked = [s for s in secrets if s in dump or s in columns or s in caplog.text]
        assert leaked == []


async def test_rotation_re_encrypts_every_token_so_the_old_key_can_go(database_url: str) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    async with running_stack(database_url, secret_keys=(old_key,)) as stack:
        portals = [await stack.installed_portal() for _ in range(3)]
        before = {p.member_id: await stored(stack, p.member_id) for p in portals}
        old_cipher = stack.runtime.cipher

        # What `namecase rotate-keys` runs, with the new key put first.
        rotating = stack.settings.model_copy(update={"secret_keys": (new_key, old_key)})
        rotated = await rotate_database_keys(rotating)

        assert rotated == 6
        new_only = TokenCipher((new_key,))
        for member_id, old_row in before.items():
            row = await stored(stack, member_id)
            assert row is not None and old_row is not None
            assert row.access_token_enc is not None and row.refresh_token_enc is not None
            assert old_row.access_token_enc is not None and old_row.refresh_token_enc is not None
            assert new_only.decrypt(row.access_token_enc) == old_cipher.decrypt(
                old_row.access_token_enc
            )
            assert new_only.decrypt(row.refresh_token_enc) == old_cipher.decrypt(
                old_row.refresh_token_enc
            )
            assert row.token_version == old_row.token_version  # the tokens did not change
            with pytest.raises(ValueError, match="rotate-keys"):
                old_cipher.decrypt(row.refresh_token_enc)

        # A process that knows only the new key calls the portal and refreshes its tokens.
        runtime = Runtime.start(stack.settings.model_copy(update={"secret_keys": (new_key,)}))
        try:
            stack.emulator.expire_access_tokens(portals[0].member_id)
            row = await stored(stack, portals[0].member_id)
            assert row is not None
            profile = await runtime.bitrix.call(runtime.portals.link(row), "profile")
            assert profile["ID"] == "1"
        finally:
            await runtime.close()


async def test_rotation_without_the_old_key_fails_loudly_and_changes_nothing(
    database_url: str,
) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    async with running_stack(database_url, secret_keys=(old_key,)) as stack:
        portal = await stack.installed_portal()
        before = await stored(stack, portal.member_id)

        with pytest.raises(ValueError, match="NAMECASE_SECRET_KEYS"):
            await rotate_keys(stack.runtime.sessions, TokenCipher((new_key,)))

        after = await stored(stack, portal.member_id)
        assert before is not None and after is not None
        assert after.refresh_token_enc == before.refresh_token_enc
