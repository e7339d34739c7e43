"""A projection whose code changed (version bump) is rebuilt from the first
event on start, apart from the others, which keep serving."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from classledger.application.tenants import system_principal
from classledger.projections.activity import ActivityTimeline
from classledger.projections.verify import verify
from classledger.system import System

T0 = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def test_a_version_bump_rebuilds_that_projection_only(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = System.open(database_url)
    tid = uuid.uuid4()
    sp = system_principal(tid)
    first.execute(sp, "create_tenant", {"name": "Hudobná škola", "timezone": "Europe/Bratislava", "currency": "EUR"}, at=T0)
    for k in range(12):
        first.execute(sp, "issue_key", {"role": "admin", "staff": f"staff {k}"}, at=T0 + timedelta(days=k))
    first.close()

    monkeypatch.setattr(ActivityTimeline, "version", 2)
    second = System.open(database_url, lag=5)
    try:
        assert "activity" not in {p.name for p in second.runner.projections} or second.building() == []
        # Other projections keep working while the new version builds.
        second.execute(sp, "issue_key", {"role": "director", "staff": "Jana"}, at=T0 + timedelta(days=30))
        deadline = time.monotonic() + 30
        while second.building() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert second.building() == []
        assert "activity" in {p.name for p in second.runner.projections}
        second.runner.catch_up()
        activity = second.view(ActivityTimeline)
        assert activity.t("tenants").startswith("p_activity_v2_")
        assert verify(second.store, ["all"]).ok
        with second.store.db.read() as tx:
            assert tx.one(f"SELECT COUNT(*) FROM {activity.t('tenants')}") == (1,)
    finally:
        second.close()
