"""Pass commands (DOMAIN §4): the template catalogue of §4.1."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import Field

from classledger.aggregates import passes as ps
from classledger.application.registry import Args, Ctx, command
from classledger.application.tenants import money


class CreatePassTemplate(Args):
    id: UUID | None = None
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    price: str
    lessons: int = Field(ge=1, le=1000)
    validity_days: int = Field(ge=1, le=3660)
    lesson_type: str
    freestyle: bool = False
    allow_overlap: bool = False
    multi_client: bool = False


@command("create_pass_template", CreatePassTemplate, need="director")
def create_pass_template(ctx: Ctx, a: CreatePassTemplate) -> dict[str, Any]:
    """Add a pass to the tenant's catalogue (DOMAIN §4.1)."""
    ctx.tenant.lesson_type(a.lesson_type)
    template_id = ctx.new_id(a.id)
    ctx.emit(ps.create_template(template_id, ctx.meta, name=a.name, description=a.description,
                                price=money(ctx, a.price, "price"), lessons=a.lessons, validity_days=a.validity_days,
                                lesson_type=a.lesson_type, freestyle=a.freestyle, allow_overlap=a.allow_overlap,
                                multi_client=a.multi_client))
    return {"id": template_id, "version": 1}
