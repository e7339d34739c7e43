"""Who is acting: the staff member behind a key, and what their role allows (DOMAIN §1.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from classledger import roles
from classledger.aggregates.errors import Forbidden
from classledger.ledger.accounts import city_key

# What a command needs: a place on the writers' ladder (classledger/roles.py), "read", or
# "cabinet". "system" is what the CLI acts as for tenant set-up; no staff key carries it.
Need = Literal["admin", "director", "regional_director", "read", "system", "cabinet"]
# A parent signed in to the self-service cabinet (DOMAIN §8.2): the only principal that
# meets ``need="cabinet"``, and it meets nothing else, not even "read".
CABINET_ROLE = "cabinet_user"


@dataclass(frozen=True)
class Principal:
    tenant_id: UUID
    staff_id: UUID
    staff_name: str
    role: str
    city: str | None = None

    def require(self, need: Need) -> None:
        if (need == "cabinet") != (self.role == CABINET_ROLE):
            why = ("only a signed-in cabinet user does this" if need == "cabinet"
                   else "a cabinet login reads its own cabinet and nothing else")
            raise Forbidden("forbidden_role", why, role=self.role, needs=need)
        if need in ("read", "cabinet"):
            return
        if not roles.at_least(self.role, need):
            if self.role in roles.READERS:
                why = f"the {self.role} role reads but does not write business data"
            else:
                why = f"this needs the {need} role or above; you are {self.role}"
            raise Forbidden("forbidden_role", why, role=self.role, needs=need)

    def at_least(self, role: str) -> bool:
        """Whether this principal's role is ``role`` or above on the writers' ladder."""
        return roles.at_least(self.role, role)

    def may_act_in_city(self, city: str) -> bool:
        """Staff bound to a city act only there (DOMAIN §6.6); unbound staff act anywhere."""
        return self.city is None or city_key(self.city) == city_key(city)
