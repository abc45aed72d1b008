"""batch: `$result[...]` references between commands and the shape of each part of the answer
(settings/how-to-call-rest-api/batch.md), and list paging without counting
(settings/performance/huge-data.md)."""

from __future__ import annotations

from typing import Any

import httpx

from emulator.conftest import InstalledApp, call
from namecase.emulator import Emulator
from namecase.emulator.batch import php_array, substitute_results


async def add_contacts(emulator: Emulator, app: InstalledApp, count: int) -> None:
    for number in range(count):
        await emulator.user_add_contact(app.member_id, {"NAME": f"n{number}"})


async def batch(http: httpx.AsyncClient, app: InstalledApp, cmd: Any) -> dict[str, Any]:
    response = await call(http, app, "batch", {"halt": 0, "cmd": cmd})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


async def test_a_later_command_reads_an_earlier_result(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    # batch.md, "Связанные вызовы": department.get?ID=$result[get_user][UF_DEPARTMENT][0].
    added = await batch(
        http,
        app,
        {
            "add": "crm.contact.add?fields[NAME]=Ann",
            "get": "crm.contact.get?id=$result[add]",
            "copy": "crm.contact.add?fields[NAME]=copy of $result[get][NAME]",
        },
    )
    assert added["result"]["get"]["NAME"] == "Ann"
    assert added["result"]["get"]["ID"] == str(added["result"]["add"])
    assert emulator.contact(app.member_id, added["result"]["copy"])["NAME"] == "copy of Ann"


async def test_a_list_row_is_read_by_its_index_and_chains_pages(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    # The official SDK's fast list chains pages this way (b24pysdk call_list_fast.py):
    # filter[>ID]=$result[1][49][ID], start=-1, commands keyed from "1".
    await add_contacts(emulator, app, 120)
    page = "crm.contact.list?order[ID]=ASC&select[]=ID&start=-1&filter[>ID]="
    answer = await batch(
        http,
        app,
        {"1": f"{page}0", "2": f"{page}$result[1][49][ID]", "3": f"{page}$result[2][49][ID]"},
    )
    ids = [int(row["ID"]) for key in ("1", "2", "3") for row in answer["result"][key]]
    assert ids == list(range(1, 121))
    assert answer["result_error"] == []


async def test_a_reference_to_nothing_becomes_empty_text() -> None:
    results = {"a": [{"ID": "7"}], "b": True}
    assert substitute_results("$result[a][3][ID]", results) == ""
    assert substitute_results("$result[z]", results) == ""
    assert substitute_results("x$result[b]y", results) == "x1y"  # PHP writes true as "1"
    assert substitute_results({"f": ["$result[a]"]}, results) == {"f": [[{"ID": "7"}]]}
    assert substitute_results("no reference", results) == "no reference"


async def test_commands_keyed_0_to_n_answer_lists_like_a_list_of_commands(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    # PHP reads the keys "0", "1" of a decoded object as integers, so json_encode answers a list
    # either way; the official SDK sends a list of commands as such an object (call_batch.py).
    as_object = await batch(http, app, {"0": "user.admin", "1": "scope"})
    as_list = await batch(http, app, ["user.admin", "scope"])
    for answer in (as_object, as_list):
        assert answer["result"] == [True, ["crm"]]
        assert isinstance(answer["result_time"], list)
        assert (answer["result_error"], answer["result_total"], answer["result_next"]) == (
            [],
            [],
            [],
        )


def test_only_keys_0_to_n_in_order_make_a_list() -> None:
    assert php_array({}) == []
    assert php_array({"0": "a", "1": "b"}) == ["a", "b"]
    assert php_array({"1": "a", "2": "b"}) == {"1": "a", "2": "b"}
    assert php_array({"1": "a", "0": "b"}) == {"1": "a", "0": "b"}
    assert php_array({"0": "a", "2": "b"}) == {"0": "a", "2": "b"}


async def test_start_minus_one_returns_the_first_page_without_counting(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    await add_contacts(emulator, app, 60)
    counted = (await call(http, app, "crm.contact.list", {"start": 0})).json()
    uncounted = (await call(http, app, "crm.contact.list", {"start": -1})).json()

    assert (counted["total"], counted["next"]) == (60, 50)
    # huge-data.md: "start = -1 ... отключает подсчет общего количества"; its example answer has
    # "total" 0 and no "next".
    assert uncounted["total"] == 0
    assert "next" not in uncounted
    assert [row["ID"] for row in uncounted["result"]] == [str(n) for n in range(1, 51)]
