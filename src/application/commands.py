"""Imports every module that registers commands, so the registry is complete."""

from classledger.application import (
    books,  # noqa: F401
    cabinet_users,  # noqa: F401
    clients,  # noqa: F401
    lessons,  # noqa: F401
    passes,  # noqa: F401
    registrations,  # noqa: F401
    settings,  # noqa: F401
    tenants,  # noqa: F401
)
