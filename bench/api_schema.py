"""Schemathesis on the JSON API: property-based requests generated from /openapi.json.

    pip install schemathesis               # in a separate virtualenv is fine (pipx, .venv-bench)
    .venv/bin/python bench/api_schema.py [--schemathesis PATH] [--max-examples 100]

Set-up: a throw-away PostgreSQL database, the emulator, `namecase serve` with an admin token and
one installed portal. The page API needs the signed page token a frame gets, so the script opens
the app page the way Bitrix24 does (POST /app with a real frame from the emulator, as the
portal's administrator) and reads the token from the page. Then Schemathesis runs three times:

- `/app/api/…` with `Authorization: Bearer <page token>`;
- `/admin…` with `Authorization: Bearer <NAMECASE_ADMIN_TOKEN>`;
- every other operation in the schema without credentials.

Schemathesis checks every answer (no 5xx, status codes, content types and bodies as the schema
declares them). /events, /install and the frame routes are form-encoded, not JSON: they are
fuzzed by bench/fuzz.py. Prints each run's summary; writes bench/results/api_schema.json.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx

from rig import (
    ROOT,
    ServiceProcess,
    database,
    emulator,
    install_portals,
    print_table,
    running,
    write_results,
)

ADMIN_TOKEN = "bench-admin-token-0123456789"
RUNS = [
    ("page API", r"^/app/api/", "page"),
    ("admin", r"^/admin", "admin"),
    ("everything else", r"^/(?!app/api/|admin)", None),
]


async def page_token(app_url: str, emu: Any, member_id: str) -> str:
    """Open the app page as Bitrix24's frame does and read the page token it carries."""
    portal = emu.portal(member_id)
    query = emu.frame_query(portal, "en")
    form = emu.frame_form(portal, emu.frame_tokens(member_id))
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{app_url}/app", params=query, data=form)
    response.raise_for_status()
    found = re.search(r'name="namecase-token" content="([^"]+)"', response.text)
    assert found, "no page token in the app page"
    return found.group(1)


async def schemathesis(
    binary: str, schema: str, include: str, header: str | None, examples: int
) -> dict[str, Any]:
    command = [
        binary,
        "run",
        schema,
        "--include-path-regex",
        include,
        "--max-examples",
        str(examples),
        "--seed",
        "8",
    ]
    if header:
        command += ["--header", header]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tempfile.gettempdir(),  # it keeps a .schemathesis/ folder in its working directory
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    counts = re.search(r"(\d+) generated, (\d+) found (\d+) unique failures", text)
    generated = re.search(r"(\d+) generated", text)
    return {
        "exit_code": process.returncode,
        "test_cases": int(generated.group(1)) if generated else None,
        "unique_failures": int(counts.group(3)) if counts else 0,
        "failure_kinds": sorted(set(re.findall(r"(ST\d+ [^:\n]+):", text))),
        "server_errors": len(re.findall(r"- ST101 Server error", text)),
        "output": text,
    }


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    async with emulator() as emu, database("postgresql") as url:
        service = ServiceProcess.serve(
            url, emu.base_url, cpu=None, worker=False, admin_token=ADMIN_TOKEN
        )
        async with running(service):
            (portal,) = await install_portals(emu, service.url, 1)
            await emu.user_add_contact(portal.member_id, {"NAME": "иВАН"})
            tokens = {
                "page": await page_token(service.url, emu, portal.member_id),
                "admin": ADMIN_TOKEN,
            }
            for name, include, credential in RUNS:
                header = f"Authorization: Bearer {tokens[credential]}" if credential else None
                print(f"schemathesis: {name} …", flush=True)
                run = await schemathesis(
                    args.schemathesis,
                    f"{service.url}/openapi.json",
                    include,
                    header,
                    args.max_examples,
                )
                print(run["output"][-1500:], flush=True)
                results.append({"run": name, "include": include, **run})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemathesis", default=shutil.which("schemathesis") or "schemathesis")
    parser.add_argument("--max-examples", type=int, default=100)
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    print()
    print_table(
        ["run", "test cases", "5xx", "unique failures", "kinds"],
        [
            [
                r["run"],
                r["test_cases"],
                r["server_errors"],
                r["unique_failures"],
                "; ".join(r["failure_kinds"]),
            ]
            for r in results
        ],
    )
    path = write_results("api_schema", {"settings": vars(args), "results": results})
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
