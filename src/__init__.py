"""classledger: an event-sourced ledger and CRM core for schools that sell lessons."""

__version__ = "0.1.0"
