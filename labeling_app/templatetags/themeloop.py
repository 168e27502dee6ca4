from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key: Any) -> Any:
    """`mapping|get_item:key` in templates."""
    return mapping.get(key, [])
