"""Money: ISO 4217 codes, exact parsing into minor units, formatting, the weighting rule."""

from __future__ import annotations

import pytest

from crmcli import money
from crmcli.errors import ValidationError


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12000", "EUR", 1_200_000),
        ("12,000.50", "EUR", 1_200_050),
        ("12000.5", "eur", 1_200_050),
        ("1,234,567.89", "USD", 123_456_789),
        ("0", "USD", 0),
        ("+7", "GBP", 700),
        ("300000", "JPY", 300_000),
        ("1.234", "KWD", 1_234),
        ("0.0001", "CLF", 1),
        ("12.50", "EUR", 1_250),
        ("5.0", "JPY", 5),  # a zero decimal is not a fraction of a yen
    ],
)
def test_parse_amount_exact(text: str, currency: str, minor: int) -> None:
    assert money.parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "error"),
    [
        ("-5", "EUR", "value '-5' is negative; give an amount of 0 or more"),
        ("5.123", "EUR", "value '5.123' has too many decimals: EUR takes at most 2 decimals"),
        ("5.5", "JPY", "value '5.5' has too many decimals: JPY takes no decimals"),
        (
            "12.000,50",
            "EUR",
            "value '12.000,50' is not an amount (examples: 12000, 12000.50, 12,000.50)",
        ),
        ("1,00", "EUR", "value '1,00' is not an amount (examples: 12000, 12000.50, 12,000.50)"),
        ("1e5", "EUR", "value '1e5' is not an amount (examples: 12000, 12000.50, 12,000.50)"),
        ("", "EUR", "value '' is not an amount (examples: 12000, 12000.50, 12,000.50)"),
        (
            "5",
            "XYZ",
            "unknown currency code 'XYZ' (use an ISO 4217 code such as EUR, USD, GBP, JPY)",
        ),
    ],
)
def test_parse_amount_refuses(text: str, currency: str, error: str) -> None:
    with pytest.raises(ValidationError) as info:
        money.parse_amount(text, currency)
    assert info.value.message == error


def test_currency_table() -> None:
    assert len(money.CURRENCIES) > 150
    assert all(len(code) == 3 and code.isupper() for code in money.CURRENCIES)
    assert money.CURRENCIES["EUR"] == 2
    assert money.CURRENCIES["JPY"] == 0
    assert money.CURRENCIES["BHD"] == 3
    assert money.CURRENCIES["UYW"] == 4
    assert "XAU" not in money.CURRENCIES  # gold is not a deal currency


@pytest.mark.parametrize(
    ("minor", "currency", "text", "plain"),
    [
        (1_200_050, "EUR", "12,000.50 EUR", "12000.50"),
        (5, "EUR", "0.05 EUR", "0.05"),
        (300_000, "JPY", "300,000 JPY", "300000"),
        (1_234, "KWD", "1.234 KWD", "1.234"),
    ],
)
def test_formatting(minor: int, currency: str, text: str, plain: str) -> None:
    assert money.format_money(minor, currency) == text
    assert money.to_decimal_text(minor, currency) == plain


def test_format_without_cents_rounds_half_up() -> None:
    assert money.format_money(1_200_050, "EUR", cents=False) == "12,001 EUR"
    assert money.format_money(1_200_049, "EUR", cents=False) == "12,000 EUR"


@pytest.mark.parametrize(
    ("value_times_pct", "expected"),
    [(0, 0), (49, 0), (50, 1), (149, 1), (150, 2), (100 * 25, 25), (1_200_050 * 25, 300_013)],
)
def test_weighted_rounds_half_up_once(value_times_pct: int, expected: int) -> None:
    assert money.weighted(value_times_pct) == expected
