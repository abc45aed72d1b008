"""ONAPPUNINSTALL, honoured only when Bitrix24 confirms that the app is gone.

The event carries no usable tokens, only the portal's application_token ([RU]
common/events/on-app-uninstall.md), and that token is no secret from the portal's users: every
frame POST shows it to them (docs/SECURITY.md). What cannot be forged is Bitrix24's own answer:
"При удалении приложения удаляются все права на доступ приложения к API" (the same page). So the
portal is asked, whatever its state and however old the stored token:

- a call with the stored tokens succeeds → the app is installed; the event is false;
- the OAuth server refuses a refresh with invalid_client ("приложение не установлено", [RU]
  settings/oauth/error-codes.md) or invalid_grant, the portal answers NOT_INSTALLED, or it refuses
  a token fresh from the OAuth server → the app is gone: uninstalled, and CLEAN deletes our data;
- anything else (PAYMENT_REQUIRED, ACCESS_DENIED, a network error, a 5xx) proves nothing: the
  event is remembered on the portal row and a worker asks again (pipeline/recovery.py).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from namecase.bitrix import BitrixClient, BitrixError, ExpiredToken, InvalidAuth, PortalDisabled
from namecase.portals import lifecycle
from namecase.portals.crypto import application_token_matches
from namecase.portals.link import StoredPortalLink
from namecase.portals.models import Portal, PortalState
from namecase.portals.repository import PortalRepository

# A cheap method every app may call ([RU] api-reference/common/system/app-info.md).
ASKED_METHOD = "app.info"


class Evidence(StrEnum):
    """What Bitrix24 said about the app on the portal."""

    GONE = "gone"
    PRESENT = "present"
    UNKNOWN = "unknown"


class UninstallVerdict(StrEnum):
    """What became of an ONAPPUNINSTALL."""

    UNINSTALLED = "uninstalled"  # confirmed and done
    REMEMBERED = "remembered"  # not confirmable now: kept until Bitrix24 answers
    STILL_INSTALLED = "still_installed"  # the app works: the event is false
    ALREADY = "already"  # uninstalled before; nothing more is deleted
    NOT_OURS = "not_ours"  # unknown portal, or the application_token does not match


async def ask_bitrix(bitrix: BitrixClient, link: StoredPortalLink) -> Evidence:
    """Is the app still installed on the link's portal? One call, and one refresh if needed."""
    try:
        await bitrix.call(link, ASKED_METHOD)
        return Evidence.PRESENT
    except PortalDisabled as error:
        return Evidence.GONE if error.confirms_uninstall else Evidence.UNKNOWN
    except (InvalidAuth, ExpiredToken):
        if link.token_fresh:
            return Evidence.GONE  # refused although the OAuth server just issued it
    except BitrixError:
        return Evidence.UNKNOWN
    # The stored token was refused: revoked (an uninstall) or just odd. A fresh one decides.
    try:
        await link.renew()
        await bitrix.call(link, ASKED_METHOD)
    except PortalDisabled as error:
        return Evidence.GONE if error.confirms_uninstall else Evidence.UNKNOWN
    except (InvalidAuth, ExpiredToken):
        return Evidence.GONE
    except BitrixError:
        return Evidence.UNKNOWN
    return Evidence.PRESENT


async def uninstall(
    sessions: async_sessionmaker[AsyncSession],
    bitrix: BitrixClient,
    asking_link: Callable[[Portal], StoredPortalLink],
    *,
    member_id: str,
    application_token: str,
    clean: bool,
    may_ask: bool = True,
) -> UninstallVerdict:
    """Handle one ONAPPUNINSTALL. `may_ask=False` (over the check budget) only remembers it."""
    async with sessions() as session:
        known = await PortalRepository(session).get(member_id)
    if known is None or not application_token_matches(
        application_token, known.application_token_hash
    ):
        return UninstallVerdict.NOT_OURS
    if known.state == PortalState.UNINSTALLED:
        return UninstallVerdict.ALREADY
    evidence = await ask_bitrix(bitrix, asking_link(known)) if may_ask else Evidence.UNKNOWN
    async with sessions() as session, session.begin():
        portal = await PortalRepository(session).lock(member_id)
        if portal is None or not application_token_matches(
            application_token, portal.application_token_hash
        ):
            return UninstallVerdict.NOT_OURS  # reinstalled meanwhile, with a new token
        return await settle(session, member_id, evidence, clean=clean)


async def settle(
    session: AsyncSession, member_id: str, evidence: Evidence, *, clean: bool = False
) -> UninstallVerdict:
    """Act on what Bitrix24 said, for an event now (`clean` as it asks) or a remembered one."""
    if evidence is Evidence.GONE:
        await lifecycle.uninstall_confirmed(session, member_id, clean=clean)
        return UninstallVerdict.UNINSTALLED
    if evidence is Evidence.PRESENT:
        await lifecycle.forget_uninstall(session, member_id)
        return UninstallVerdict.STILL_INSTALLED
    await lifecycle.remember_uninstall(session, member_id, clean=clean)
    return UninstallVerdict.REMEMBERED
