"""Serving the emulator with uvicorn in a background task of the current event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Generator
from typing import Any

import uvicorn

from namecase.emulator.app import EmulatorApp
from namecase.emulator.emulator import Emulator


class _BackgroundServer(uvicorn.Server):
    """A uvicorn server for tests and tools: no signal handlers, and a quick stop.

    Stock uvicorn polls every 0.1 s and sleeps 0.1 s at shutdown; with hundreds of short-lived
    servers in a test suite that adds up, so exit is event-driven and connections are polled
    at a few milliseconds.
    """

    def __init__(self, config: uvicorn.Config, grace_seconds: float = 2.0) -> None:
        super().__init__(config)
        self.grace_seconds = grace_seconds
        self.exit_requested = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    def stop(self) -> None:
        """Ask the server to stop (returns at once; await the serve task to finish)."""
        self.should_exit = True
        self.exit_requested.set()

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exit_requested.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace_seconds
        state = self.server_state
        # uvicorn exposes no event for "last connection gone", so poll briefly.
        while (state.connections or state.tasks) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        for task in list(state.tasks):
            task.cancel()
        for server in self.servers:
            await server.wait_closed()


@contextlib.asynccontextmanager
async def serve_asgi(app: Any, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve any ASGI ``app`` with uvicorn in the running loop; yield ``http://host:port``."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = _BackgroundServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # startup failed: raise its error
            raise RuntimeError("uvicorn exited before starting")
        await asyncio.sleep(0.005)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.stop()
        await task


@contextlib.asynccontextmanager
async def serve_emulator(
    emulator: Emulator, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve ``emulator`` on ``host:port`` (0 = a free port) and yield its base URL.

    On exit, hanging requests are released, queued deliveries cancelled and the server stopped.
    """
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(emulator.aclose)
        base_url = await stack.enter_async_context(serve_asgi(EmulatorApp(emulator), host, port))
        stack.callback(emulator.release_hangs)
        emulator.attach(base_url)
        yield base_url
