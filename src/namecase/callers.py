"""Who is calling: the unit that per-caller budgets count (install attempts, frame checks).

The address is the connection's, or the one a trusted reverse proxy reports in X-Forwarded-For
(uvicorn believes the header only from FORWARDED_ALLOW_IPS, 127.0.0.1 by default). An IPv6
subscriber gets a whole /64, so counting single IPv6 addresses would count nothing.
"""

from __future__ import annotations

import ipaddress


def caller_of(address: str | None) -> str:
    """Whose budget a request spends: its IPv4 address, or its IPv6 /64 (one subscriber's)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if ip.version == 6:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
