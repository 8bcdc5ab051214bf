"""Money: ISO 4217 currency codes with their minor units, exact parsing and formatting.

Amounts are stored as integers in the currency's minor unit (cents for EUR, yen for JPY, fils
for KWD), so no arithmetic ever touches a float. Parsing goes through ``Decimal`` and refuses
anything it would have to round.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from crmcli.errors import ValidationError

#: The active ISO 4217 codes (SIX list, 2025) and their minor units. Funds codes that are used
#: for money (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) are included; precious metals, SDR,
#: testing and "no currency" codes (XAU, XAG, XPD, XPT, XDR, XSU, XUA, XBA-XBD, XTS, XXX)
#: have no minor unit and are not money a deal is priced in, so they are left out.
CURRENCIES: dict[str, int] = {
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2,
    "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2,
    "BND": 2, "BOB": 2, "BOV": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2,
    "BZD": 2, "CAD": 2, "CDF": 2, "CHE": 2, "CHF": 2, "CHW": 2, "CLF": 4, "CLP": 0,
    "CNY": 2, "COP": 2, "COU": 2, "CRC": 2, "CUC": 2, "CUP": 2, "CVE": 2, "CZK": 2,
    "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2,
    "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0,
    "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2,
    "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2,
    "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2,
    "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2,
    "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2,
    "MWK": 2, "MXN": 2, "MXV": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2,
    "NOK": 2, "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2,
    "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2, "RWF": 0,
    "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2,
    "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2,
    "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2,
    "UAH": 2, "UGX": 0, "USD": 2, "USN": 2, "UYI": 0, "UYU": 2, "UYW": 4, "UZS": 2,
    "VED": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XCG": 2,
    "XOF": 0, "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}  # fmt: skip

#: used when neither --currency, [deals] currency nor CRM_CURRENCY says otherwise
DEFAULT_CURRENCY = "USD"

# Plain digits, or digits grouped by commas in threes; then an optional decimal part.
_AMOUNT = r"^(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?$"  # compiled on first use (re's cache)


def currency_code(text: str) -> str:
    """A known ISO 4217 code, upper-cased; ValidationError naming the input otherwise."""
    code = text.strip().upper()
    if code not in CURRENCIES:
        raise ValidationError(
            f"unknown currency code {text.strip()!r} (use an ISO 4217 code such as EUR, USD, GBP, JPY)"
        )
    return code


def minor_units(currency: str) -> int:
    """How many decimals the currency has (2 for EUR, 0 for JPY, 3 for KWD)."""
    return CURRENCIES[currency_code(currency)]


def parse_amount(text: str, currency: str, *, what: str = "value") -> int:
    """``"12,000.50"`` in EUR -> 1200050 (minor units). Exact: never rounds.

    Accepts ``12000``, ``12000.5``, ``12,000.50``. Refuses negatives, more decimals than the
    currency has, and anything else, with a message naming the input.
    """
    code = currency_code(currency)
    raw = text.strip()
    if raw.startswith("-"):
        raise ValidationError(f"{what} {raw!r} is negative; give an amount of 0 or more")
    cleaned = raw.lstrip("+")
    if not re.match(_AMOUNT, cleaned):
        raise ValidationError(
            f"{what} {raw!r} is not an amount (examples: 12000, 12000.50, 12,000.50)"
        )
    from decimal import Decimal, InvalidOperation  # parsing only: showing an amount needs none

    try:
        amount = Decimal(cleaned.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern already checked the form
        raise ValidationError(f"{what} {raw!r} is not an amount") from None
    digits = CURRENCIES[code]
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        unit = "no decimals" if digits == 0 else f"at most {digits} decimals"
        raise ValidationError(f"{what} {raw!r} has too many decimals: {code} takes {unit}")
    return int(scaled)


def to_decimal_text(minor: int, currency: str) -> str:
    """Minor units as a plain decimal string for scripts: 1200050 EUR -> ``"12000.50"``."""
    digits = CURRENCIES.get(currency, 2)
    if digits == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}"


def format_money(minor: int, currency: str, *, cents: bool = True) -> str:
    """For people: ``12,000.50 EUR``; ``cents=False`` drops the minor unit (``12,001 EUR``)."""
    digits = CURRENCIES.get(currency, 2)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**digits)
    if not cents or digits == 0:
        if digits and frac * 2 >= 10**digits:
            whole += 1  # half up, for display only
        return f"{sign}{whole:,} {currency}"
    return f"{sign}{whole:,}.{frac:0{digits}d} {currency}"


def weighted(minor_times_percent: int) -> int:
    """The rounding rule for weighted values: a sum of value x probability (percent) divided by
    100, rounded half up to a whole minor unit. Totals are summed exactly first and rounded once.
    """
    return (minor_times_percent * 2 + 100) // 200


def amount_change(
    stored: Mapping[str, Any], currency: str | None, minor: int | None, *, what: str, owner: str
) -> dict[str, Any]:
    """The columns an edit of a deal's value or a purchase's amount sets: ``currency`` checked
    against the amount kept (:func:`check_currency_change`), the amount (column ``{what}_minor``)
    never negative. ``stored``: the record as it is (its ``currency`` and ``{what}_minor``)."""
    column = f"{what}_minor"
    sets: dict[str, Any] = {}
    if currency is not None:
        sets["currency"] = check_currency_change(
            stored["currency"], currency, stored[column], amount_given=minor is not None, what=what
        )
    if minor is not None:
        if minor < 0:
            raise ValidationError(f"{owner}'s {what} cannot be negative")
        sets[column] = minor
    return sets


def check_currency_change(
    old: str, new: str, old_minor: int, *, amount_given: bool, what: str
) -> str:
    """The new currency code of a deal or purchase, refused when its minor units differ from the
    old one's and no new amount comes with it (12.50 EUR is not 1250 JPY)."""
    code = currency_code(new)
    if not amount_given and old_minor and CURRENCIES[code] != CURRENCIES.get(old, 2):
        raise ValidationError(
            f"{old} and {code} have different minor units; "
            f"give the {what} in the new currency too (--{what})"
        )
    return code
