"""Run ASGI apps on real loopback ports inside the test's event loop."""

from namecase.serving import free_port, serve

__all__ = ["free_port", "serve"]
