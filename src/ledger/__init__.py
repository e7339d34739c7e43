"""Money and bookkeeping (DOMAIN §6): the pure core every other layer builds on.

Amounts are integer minor units of an ISO 4217 currency inside and exact decimal
strings outside (``Money``); accounts follow the chart of DOMAIN §6.3 (``accounts``);
every money fact is a balanced, immutable ``JournalTransaction`` (``journal``); the
posting rules decide once what each fact posts (``posting``). No I/O, no clock, no
framework but pydantic: ids and instants are always inputs.
"""

from classledger.ledger.accounts import (
    BAD_DEBT,
    INCOME_CORRECTIONS,
    INCOME_DISCOUNTS,
    AccountError,
    as_receivable,
    bank,
    cash,
    city_key,
    deferred,
    income_lessons,
    money_account,
    parse_account,
    receivable,
)
from classledger.ledger.currency import UnknownCurrencyError, is_currency, minor_units
from classledger.ledger.journal import (
    JournalTransaction,
    Posting,
    ReversalError,
    TransactionKind,
    UnbalancedError,
    balances,
    reversal_of,
    trial_balance,
)
from classledger.ledger.money import (
    CurrencyMismatchError,
    Money,
    MoneyFormatError,
    MoneyStr,
    format_minor,
    round_half_up,
)

__all__ = [
    "BAD_DEBT",
    "INCOME_CORRECTIONS",
    "INCOME_DISCOUNTS",
    "AccountError",
    "CurrencyMismatchError",
    "JournalTransaction",
    "Money",
    "MoneyFormatError",
    "MoneyStr",
    "Posting",
    "ReversalError",
    "TransactionKind",
    "UnbalancedError",
    "UnknownCurrencyError",
    "as_receivable",
    "balances",
    "bank",
    "cash",
    "city_key",
    "deferred",
    "format_minor",
    "income_lessons",
    "is_currency",
    "minor_units",
    "money_account",
    "parse_account",
    "receivable",
    "reversal_of",
    "round_half_up",
    "trial_balance",
]
