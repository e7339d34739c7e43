"""The query models of the reads of API §7: every list pages the same way, and every
instant parameter is parsed by the one function of ``routes`` (``DayOrInstant``)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from classledger.projections.paging import DEFAULT_LIMIT, MAX_LIMIT

LIMIT_DESCRIPTION = f"page size (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})"
CURSOR_DESCRIPTION = "next_cursor of the previous page"


class Paged(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=LIMIT_DESCRIPTION)
    cursor: str | None = Field(None, max_length=500, description=CURSOR_DESCRIPTION)


class GroupsQuery(Paged):
    course_id: UUID | None = Field(None, description="only this course's groups")
    branch_id: UUID | None = Field(None, description="only this branch's groups")
    state: Literal["running", "future", "ended"] | None = Field(
        None, description="on the tenant's today: running (starts_on ≤ today ≤ ends_on), future or ended (DOMAIN §3.1)"
    )


class RecalculationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    template_id: UUID | None = Field(None, description="only this template's offer (default: every template offered)")
