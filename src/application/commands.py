"""Imports every module that registers commands, so the registry is complete."""

from classledger.application import tenants  # noqa: F401
