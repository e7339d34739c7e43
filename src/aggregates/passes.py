"""Passes (DOMAIN §4). This module holds the templates of §4.1, the tenant's catalogue;
sales, visits and the rest of the pass lifecycle build on them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from classledger.aggregates.base import Aggregate, Event, Meta
from classledger.aggregates.errors import Invalid


class PassTemplate(Aggregate):
    name: str
    description: str | None = None
    price: int  # minor units of the tenant's currency
    lessons: int
    validity_days: int
    lesson_type: str
    freestyle: bool = False  # price, lessons and validity may change at sale
    allow_overlap: bool = False  # may a client hold two valid passes of this type at once
    multi_client: bool = False  # may one pass be shared, e.g. by siblings


class PassTemplateCreated(Event):
    name: str
    description: str | None = None
    price: int
    lessons: int
    validity_days: int
    lesson_type: str
    freestyle: bool = False
    allow_overlap: bool = False
    multi_client: bool = False

    def apply(self, state: Any) -> PassTemplate:
        return self.birth(
            PassTemplate, name=self.name, description=self.description, price=self.price, lessons=self.lessons,
            validity_days=self.validity_days, lesson_type=self.lesson_type, freestyle=self.freestyle,
            allow_overlap=self.allow_overlap, multi_client=self.multi_client,
        )


def create_template(template_id: UUID, meta: Meta, *, name: str, description: str | None, price: int, lessons: int,
                    validity_days: int, lesson_type: str, freestyle: bool, allow_overlap: bool,
                    multi_client: bool) -> list[Event]:
    if price < 0:
        raise Invalid("negative_price", "a pass cannot cost less than nothing")
    if lessons < 1:
        raise Invalid("invalid_lessons", "a pass holds at least one lesson")
    if validity_days < 1:
        raise Invalid("invalid_validity", "a pass is valid for at least one day")
    return [PassTemplateCreated.make(meta, template_id, 1, name=name, description=description, price=price, lessons=lessons,
                                     validity_days=validity_days, lesson_type=lesson_type, freestyle=freestyle,
                                     allow_overlap=allow_overlap, multi_client=multi_client)]
