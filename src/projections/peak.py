"""The activity report's ``peak_clients`` (DOMAIN §5.8), with the clients' names: the
vendor's invoice, auditable client by client. The timeline says who and why; the client
directory gives the names."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from classledger.projections.activity import ActivityTimeline
from classledger.projections.clients import ClientDirectory


def named(directory: ClientDirectory, tenant_id: UUID, clients: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{id, sources}]`` as ``[{id, name, sources}]``, by name then id."""
    names = directory.names(tenant_id, [c["id"] for c in clients])
    out = [{"id": c["id"], "name": names.get(c["id"]), "sources": c["sources"]} for c in clients]
    return sorted(out, key=lambda c: (c["name"] or "", c["id"]))


def with_peak_clients(activity: ActivityTimeline, directory: ClientDirectory, tenant_id: UUID,
                      report: dict[str, Any]) -> dict[str, Any]:
    """A report (live or replayed) with its peak's clients named."""
    clients = report.get("peak_clients")
    if clients is None:
        clients = activity.peak_clients(tenant_id, report["peak_day"])
    return {**report, "peak_clients": named(directory, tenant_id, clients)}
