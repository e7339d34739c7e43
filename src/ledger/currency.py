"""ISO 4217 currencies and their minor units (DOMAIN §1.2, §6.1): EUR 2, JPY 0, KWD 3, CLF 4.

The table is ISO 4217 List One as published on 2026-01-01, every code that has a minor
unit. It is kept here as data rather than read from a package: the ledger is pure (no
file reads at import), the list changes a few times a decade, and a change of a
currency's minor unit would change the meaning of every stored amount, so it must be a
reviewed edit, never a side effect of upgrading a dependency.

Codes whose minor unit ISO gives as "N.A." (gold XAU, silver XAG, the bond-market units
XBA–XBD, XDR, XSU, XUA, the testing code XTS and "no currency" XXX) are not money a
school is paid in and are refused, as are withdrawn codes (HRK, SLL, ZWL, ANG, CUC).
"""

from __future__ import annotations

# Grouped by minor unit so a reviewer sees the exceptions to "2" at a glance.
_CODES_BY_MINOR_UNITS: dict[int, str] = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: (
        "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP "
        "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB "
        "EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES "
        "KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR "
        "MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD "
        "RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP "
        "TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XAD XCD XCG YER ZAR ZMW ZWG"
    ),
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}

MINOR_UNITS: dict[str, int] = {
    code: units for units, codes in _CODES_BY_MINOR_UNITS.items() for code in codes.split()
}


class UnknownCurrencyError(ValueError, KeyError):
    """Not an ISO 4217 currency with a minor unit.

    A KeyError too, because ``minor_units`` is a lookup and older callers catch that.
    """

    def __str__(self) -> str:
        # KeyError would print the repr of its argument; this is a sentence.
        return str(self.args[0]) if self.args else "unknown currency"


def minor_units(code: str) -> int:
    """The number of decimals of the currency's minor unit (EUR 2, JPY 0, KWD 3, CLF 4).

    Codes are upper case exactly as ISO writes them: "eur" is refused rather than
    folded, so one currency never has two spellings in stored events.
    """
    try:
        return MINOR_UNITS[code]
    except (KeyError, TypeError):
        raise UnknownCurrencyError(
            f"{code!r} is not an ISO 4217 currency code with a minor unit (like 'EUR')"
        ) from None


def is_currency(code: str) -> bool:
    return isinstance(code, str) and code in MINOR_UNITS
