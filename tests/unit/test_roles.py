"""The role ladder (DOMAIN §1.4): one definition, read by the pipeline, the keys and the import."""

from __future__ import annotations

import uuid
from typing import get_args

import pytest

from classledger import roles
from classledger.aggregates.errors import Forbidden
from classledger.aggregates.tenant import check_key_authority
from classledger.application.principal import Principal


def test_the_writers_ladder() -> None:  # DOMAIN §1.4
    assert set(get_args(roles.Role)) == set(roles.ROLES) == set(roles.LADDER) | set(roles.READERS)
    assert [roles.rank(r) for r in roles.LADDER] == [1, 2, 3]
    assert roles.rank("system") > roles.rank("regional_director")
    assert [roles.rank(r) for r in ("accountant", "operator", "cabinet_user", "nobody")] == [0, 0, 0, 0]
    assert roles.at_least("regional_director", "director")
    assert not roles.at_least("admin", "director")
    assert not roles.at_least("accountant", "admin")
    with pytest.raises(ValueError, match="read"):
        roles.at_least("admin", "read")


@pytest.mark.parametrize("role", roles.ROLES)
def test_the_principal_reads_the_ladder(role: str) -> None:  # DOMAIN §1.4
    p = Principal(uuid.uuid4(), uuid.uuid4(), "Eva", role)
    for need in roles.LADDER:
        assert p.at_least(need) == (roles.rank(role) >= roles.rank(need))
        if p.at_least(need):
            p.require(need)
        else:
            with pytest.raises(Forbidden):
                p.require(need)


def test_among_keys_the_readers_stand_with_admin() -> None:  # DOMAIN §1.4
    assert [roles.key_rank(r) for r in roles.ROLES] == [1, 2, 3, 1, 1]
    check_key_authority("director", None, "accountant", None)
    with pytest.raises(Forbidden, match="regional_director"):
        check_key_authority("director", None, "regional_director", None)
