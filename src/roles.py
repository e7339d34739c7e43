"""The staff roles and their ladder (DOMAIN §1.4): one definition for every layer.

Writers form a ladder, each role allowed everything the one below is: admin, director,
regional director. The readers (accountant, operator) read but do not write business
data; among the keys they stand with admin. ``system`` is what the command line acts as
for tenant set-up, above every staff role; no staff key carries it. Pure: it imports
nothing of ours.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["admin", "director", "regional_director", "accountant", "operator"]
ROLES: tuple[Role, ...] = ("admin", "director", "regional_director", "accountant", "operator")
LADDER: tuple[Role, ...] = ("admin", "director", "regional_director")  # the writers, lowest first
READERS: tuple[Role, ...] = ("accountant", "operator")
SYSTEM = "system"


def rank(role: str) -> int:
    """The role's place on the writers' ladder, from 1 (admin); ``system`` above them all,
    0 for a reader or any other role."""
    if role == SYSTEM:
        return len(LADDER) + 1
    return LADDER.index(role) + 1 if role in LADDER else 0


def at_least(role: str, needed: str) -> bool:
    """Whether ``role`` is ``needed`` or above on the writers' ladder."""
    if needed != SYSTEM and needed not in LADDER:
        raise ValueError(f"{needed} is not on the writers' ladder")
    return rank(role) >= rank(needed)


def key_rank(role: str) -> int:
    """The role's rank among staff keys: the readers stand with admin (DOMAIN §1.4)."""
    return rank(LADDER[0]) if role in READERS else rank(role)
