import math
from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key: Any) -> Any:
    """`mapping|get_item:key` in templates."""
    return mapping.get(key, [])


MINUS = "\u2212"  # a real minus sign (U+2212): "-0.29" next to a dash reads badly


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def figure_text(value: Any, digits: int = 3) -> str:
    """A number with `digits` decimals and a real minus sign; "" for a missing or undefined one."""
    number = _finite(value)
    if number is None:
        return ""
    text = f"{number:.{int(digits)}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # -0.000 is 0.000
    return text.replace("-", MINUS)


@register.filter
def figure(value: Any, digits: int = 3) -> str:
    """`value|figure:3`: 3 decimals, a real minus sign, "" when the figure is undefined (None, NaN)."""
    return figure_text(value, digits)


@register.filter
def interval(bounds: Any, digits: int = 2) -> str:
    """`[low, high]|interval:2` as "(minus)0.29 to (minus)0.07", real minus signs; "" if an end is undefined."""
    try:
        low, high = (figure_text(b, digits) for b in bounds)
    except (TypeError, ValueError):
        return ""
    return f"{low} to {high}" if low and high else ""

