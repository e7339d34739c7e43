"""The client aggregate as pure decisions (DOMAIN §2), with hypothesis.

Random command sequences over a few clients: every accepted decision's events fold into
the same state as the one kept step by step, versions grow by one per event, tags behave
as a set, family links stay symmetric with one family per member, and an archived or
deleted client refuses writes.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from classledger.aggregates import client as c
from classledger.aggregates.base import Event, Meta, project
from classledger.aggregates.errors import Refused

TENANT = uuid.UUID(int=7)
BRANCH = uuid.UUID(int=8)
IDS = [uuid.UUID(int=100 + i) for i in range(3)]

actions = st.lists(
    st.tuples(
        st.sampled_from(["tag", "untag", "update", "freeze", "archive", "restore", "delete", "link", "unlink", "waitlist", "leave", "call"]),
        st.integers(0, 2),
        st.integers(0, 2),
        st.sampled_from(["vip", "trial", "camp"]),
        st.integers(0, 60),
    ),
    max_size=40,
)


def decide(action: str, x: c.Client, y: c.Client, tag: str, days: int, meta: Callable[..., Meta]) -> list[Event]:
    start = date(2026, 1, 1) + timedelta(days=days)
    if action == "tag":
        return c.tag(x, meta(), tag)
    if action == "untag":
        return c.untag(x, meta(), tag)
    if action == "update":
        return c.update(x, meta(), {"notes": f"n{days}"}, None)
    if action == "freeze":
        return c.freeze(x, meta(), start, start + timedelta(days=5))
    if action == "archive":
        return c.archive(x, meta("moved"))
    if action == "restore":
        return c.restore(x, meta())
    if action == "delete":
        return c.delete(x, meta("duplicate"))
    if action == "link":
        return c.link_family(x, y, meta())
    if action == "unlink":
        return c.unlink_family(x, y, meta())
    if action == "waitlist":
        return c.join_waitlist(x, meta(), "Mari", "mornings")
    if action == "leave":
        return c.leave_waitlist(x, meta())
    return c.schedule_call(x, meta(), date(2026, 2, 1) + timedelta(days=days))


@settings(max_examples=300, deadline=None)
@given(actions)
def test_decisions_fold_to_the_same_state_and_keep_the_invariants(steps: list[tuple[str, int, int, str, int]]) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    state: dict[uuid.UUID, c.Client] = {}
    log: dict[uuid.UUID, list] = {i: [] for i in IDS}

    def meta(reason: str | None = None) -> Meta:
        return Meta(tenant_id=TENANT, at=at, actor="test", reason=reason)

    for i in IDS:
        evs = c.register(i, meta(), name=f"Klient {i.int}", branch_id=BRANCH, phones=["0905 000 00" + str(i.int % 10)])
        for e in evs:
            state[i] = e.apply(None)
            log[i].append(e)

    for n, (action, a, b, tag, days) in enumerate(steps):
        at = at + timedelta(minutes=n + 1)
        x, y = state[IDS[a]], state[IDS[b]]
        was_locked = x.archived or x.deleted
        try:
            evs = decide(action, x, y, tag, days, meta)
        except Refused:
            continue
        if was_locked and action not in ("restore", "delete", "unlink"):
            assert evs == [], f"{action} on an archived/deleted client must be refused"
        for e in evs:
            before = state.get(e.originator_id)
            assert e.originator_version == before.version + 1  # type: ignore[union-attr]
            state[e.originator_id] = e.apply(before)
            log[e.originator_id].append(e)

    for i in IDS:
        folded = project(None, log[i])
        assert folded == state[i]
        assert [e.originator_version for e in log[i]] == list(range(1, len(log[i]) + 1))
        assert len(set(folded.tags)) == len(folded.tags)
        assert list(folded.tags) == sorted(folded.tags)
        if folded.parent_id is not None:
            parent = state[folded.parent_id]
            assert i in parent.member_ids
            assert parent.parent_id is None
        for m in folded.member_ids:
            assert state[m].parent_id == i
        members_everywhere = [m for j in IDS for m in state[j].member_ids]
        assert len(members_everywhere) == len(set(members_everywhere))  # one family per member
        spans = sorted((f.start, f.end) for f in folded.freezes)
        assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))  # freezes never overlap
