"""`meta=KEY:VALUE` filters where a column's name may hold ':' itself: one rule for the API's parameters and the
insights views alike."""
from collections.abc import Collection


def meta_key_candidates(values: Collection[str]) -> set[str]:
    """The column names `KEY:VALUE` items could mean where KEY itself holds a ':' (every text before a ':' of an
    item with several): what a caller looks up among the project's columns for meta_filters' `columns`."""
    out: set[str] = set()
    for item in values:
        parts = str(item).split(":")
        out.update(":".join(parts[:i]) for i in range(2, len(parts)))
    return out


def meta_item_split(item: str, columns: Collection[str] = ()) -> tuple[str, str] | None:
    """One `KEY:VALUE` as (KEY, VALUE); None without a ':'. A column name may hold ':' itself ("q1:age"): the
    longest of `columns` (the project's column names) that the item starts with, followed by ':', is the KEY;
    otherwise the KEY ends at the first ':' ("a:b:c" is column "a:b" when there is one, else "a" = "b:c")."""
    known = [c for c in columns if item.startswith(f"{c}:")]
    if known:
        name = max(known, key=len)
        return name, item[len(name) + 1:]
    name, sep, value = item.partition(":")
    return (name, value) if sep else None
