"""How numbers read in verdict reasons: one convention for every reporter."""

from __future__ import annotations

#: From here on a number is printed in scientific notation: fixed decimals of 1e299 are a
#: 300-digit line in a table, and no CX quantity is that large unless the data is wrong.
SCIENTIFIC_FROM = 1e15


def fixed(x: float, digits: int = 1, thousands: bool = False) -> str:
    """Format a number with fixed decimals, or as '-2.50e+299' when it is huge."""
    if abs(x) >= SCIENTIFIC_FROM:
        return f"{x:.{digits + 1}e}"
    return f"{x:,.{digits}f}" if thousands else f"{x:.{digits}f}"


def num(x: float | None, digits: int = 1) -> str:
    """Format a value: fixed decimals, '—' for none."""
    return "—" if x is None else fixed(x, digits)


def with_unit(value: float | None, unit: str | None, digits: int = 1) -> str:
    """Format a value with its unit, as the run summary prints it: '62.0 %', '1.6 min',
    '4.1 of 5', '1,440.0 min'; '—' for no value."""
    if value is None:
        return "—"
    text = fixed(value, digits, thousands=True)
    return f"{text} {unit}" if unit else text


def change_unit(unit: str | None) -> str:
    """Return the unit of a difference: a change of a % is in percentage points."""
    if unit in (None, ""):
        return ""
    if unit == "%":
        return " pp"
    return f" {unit}"


def signed(x: float | None, unit: str | None = None, digits: int = 1) -> str:
    """Format a change with its sign and unit: '−3.2 pp', '+12.0 s'."""
    if x is None:
        return "—"
    sign = "+" if x > 0 else "−" if x < 0 else "±"
    return f"{sign}{fixed(abs(x), digits)}{change_unit(unit)}"


def pval(p: float | None) -> str:
    """Format a p-value: 'p=0.032', 'p<0.0001', 'p=—'."""
    if p is None:
        return "p=—"
    if p < 0.0001:
        return "p<0.0001"
    return f"p={p:.4f}" if p < 0.01 else f"p={p:.3f}"


def level(alpha: float) -> str:
    """Format a significance level without trailing zeros: 0.05, 0.01."""
    return f"{alpha:.4g}"
