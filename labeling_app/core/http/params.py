"""One validation layer for query parameters, page forms and JSON bodies: bad input is a 400, never a 500.

Every API view and page handler reads its parameters through these parsers. They raise `InvalidParam`,
which is both DRF's ValidationError (the API answers 400 in its `{"message", "details"}` shape) and
Django's BadRequest (a page answers 400 through handler400), so one parser serves both.
"""
import datetime
import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from django.core.exceptions import BadRequest
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser

from labeling_app.core.metadata import meta_item_split

# Ids are 64-bit signed integers in every database we run on (BigAutoField).
MAX_ID = 2**63 - 1
# Longest decimal spelling of MAX_ID: checked before int(), which refuses strings over 4,300 digits.
_MAX_DIGITS = len(str(MAX_ID))
# ASCII digits only: str.isdigit() accepts '²' and other digits that int() refuses.
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
# Deeper JSON than this is never a legitimate request; the stdlib decoder would raise RecursionError.
MAX_JSON_DEPTH = 32
META_KEY_MAX_LENGTH = 200
# Discovery settings a client may ask for (the service checks the cluster count again).
MAX_CLUSTERS = 300
MAX_MIN_CLUSTER_SIZE = 100_000


class InvalidParam(exceptions.ValidationError, BadRequest):
    """A parameter or body that cannot be parsed: 400 on API views and on pages alike."""

    def __init__(self, key: str, message: str) -> None:
        exceptions.ValidationError.__init__(self, {key: [message]})
        self.key, self.message = key, message

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def IdField(**kwargs: Any) -> serializers.IntegerField:
    """A serializer field for a database id: 1 to 2^63-1, so the schema and the check agree."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def IdListField(**kwargs: Any) -> serializers.ListField:
    """A serializer field for a list of database ids (at most 10,000)."""
    kwargs.setdefault("max_length", 10_000)
    return serializers.ListField(child=IdField(), **kwargs)


def parse_int(raw: str, *, key: str, min_value: int = 1, max_value: int = MAX_ID) -> int:
    """`raw` as an integer in [min_value, max_value]; InvalidParam otherwise."""
    text = raw.strip()
    if not _INTEGER.fullmatch(text):
        raise InvalidParam(key, "must be a whole number")
    if len(text.lstrip("-").lstrip("0")) > _MAX_DIGITS:
        raise InvalidParam(key, f"must be between {min_value} and {max_value}")
    value = int(text)
    if not min_value <= value <= max_value:
        raise InvalidParam(key, f"must be between {min_value} and {max_value}")
    return value


def int_param(params: Mapping[str, Any], key: str, *, default: int | None = None, required: bool = False,
              min_value: int = 1, max_value: int = MAX_ID) -> int | None:
    """An optional integer parameter; absent or empty gives `default` (or 400 when `required`)."""
    raw = params.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise InvalidParam(key, "this parameter is required")
        return default
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise InvalidParam(key, "must be a whole number")
    return parse_int(str(raw), key=key, min_value=min_value, max_value=max_value)


def id_param(params: Mapping[str, Any], key: str) -> int | None:
    """An optional database id (1 to 2^63-1); None when absent or empty."""
    return int_param(params, key)


def required_id(params: Mapping[str, Any], key: str) -> int:
    """A database id that must be given."""
    value = int_param(params, key, required=True)
    assert value is not None  # required=True raises instead
    return value


def clamped_int(params: Mapping[str, Any], key: str, *, default: int, low: int, high: int) -> int:
    """A size-like parameter: must be a positive whole number, then clamped to [low, high]."""
    value = int_param(params, key, default=default)
    return max(low, min(value if value is not None else default, high))


def id_list(values: Collection[Any], key: str) -> list[int]:
    """A list of ids (a form's repeated field or a JSON array); every item must be an id."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Collection):
        raise InvalidParam(key, "must be a list of ids")
    ids = []
    for item in values:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise InvalidParam(key, "must be a list of ids")
        ids.append(parse_int(str(item), key=key))
    return ids


def id_csv(params: Mapping[str, Any], key: str) -> list[int]:
    """A comma-separated list of ids (`responses=1,2,3`); blanks between commas are ignored."""
    raw = params.get(key) or ""
    return id_list([part for part in str(raw).split(",") if part.strip()], key)


def float_param(params: Mapping[str, Any], key: str, *, low: float, high: float) -> float | None:
    """A finite number in [low, high]; absent or empty gives None."""
    raw = params.get(key)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = float(str(raw))
    except ValueError:
        raise InvalidParam(key, f"must be a number between {low} and {high}") from None
    if not low <= value <= high:  # also refuses nan
        raise InvalidParam(key, f"must be a number between {low} and {high}")
    return value


def choice_param(params: Mapping[str, Any], key: str, choices: Collection[str], *, default: str) -> str:
    """One of `choices`; absent or empty gives `default`."""
    raw = params.get(key) or default
    if raw not in choices:
        raise InvalidParam(key, f"must be one of {', '.join(sorted(choices))}")
    return str(raw)


def bool_param(params: Mapping[str, Any], key: str, *, default: bool) -> bool:
    """true/false, 1/0 (as DRF and the pages write them); absent gives `default`."""
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    lowered = str(raw).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise InvalidParam(key, "must be true or false")


def date_param(params: Mapping[str, Any], key: str) -> datetime.date | None:
    """An ISO date (YYYY-MM-DD); absent or empty gives None."""
    raw = params.get(key)
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise InvalidParam(key, "must be a date YYYY-MM-DD") from None


def meta_filters(values: Collection[str], key: str = "meta", columns: Collection[str] = ()) -> dict[str, str]:
    """`KEY:VALUE` metadata filters (repeatable, ANDed); a KEY may hold ':' where it is one of `columns` (see
    meta_item_split). KEY is a plain metadata key: selectors compare it as a literal JSON key and never build a
    database lookup from it (`contains`, `isnull`...)."""
    filters: dict[str, str] = {}
    for item in values:
        split = meta_item_split(str(item), columns)
        name, value = split if split else ("", "")
        name = name.strip()
        if not split or not name:
            raise InvalidParam(key, "must be KEY:VALUE")
        if len(name) > META_KEY_MAX_LENGTH or not name.isprintable():
            raise InvalidParam(key, "the key is not a metadata column name")
        filters[name] = value
    return filters


def json_depth_check(data: Any, *, key: str = "body", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`data` unchanged when its nesting is at most `max_depth`; checked without recursion."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                raise InvalidParam(key, f"JSON nested deeper than {max_depth} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return data


def json_body(raw: bytes, *, default: Any = None) -> Any:
    """A page's JSON request body, parsed and depth-checked; broken JSON is a 400."""
    if not raw:
        return default
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise InvalidParam("body", "is not valid JSON") from None
    return json_depth_check(data)


def json_object(raw: bytes) -> dict[str, Any]:
    """A page's JSON body that must be an object (`{}` when empty)."""
    data = json_body(raw, default={})
    if not isinstance(data, dict):
        raise InvalidParam("body", "must be a JSON object")
    return data


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with a nesting limit: a deep document is a 400, not a RecursionError 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        """Parse as DRF does, then refuse documents nested deeper than MAX_JSON_DEPTH."""
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels") from None
        try:
            return json_depth_check(data)
        except InvalidParam as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc.message}") from None


#: The prefix of every project-scoped page and API path.
PROJECT_PATH = "projects/<id:project_id>/"


class IdConverter:
    """`<id:name>` in URLs: a database id up to 2^63-1. Longer or larger numbers do not match (404), where
    `<int:…>` would hand the view a number no database column can hold."""

    regex = f"[0-9]{{1,{_MAX_DIGITS}}}"

    def to_python(self, value: str) -> int:
        """The id; ValueError (no match, so 404) past the 64-bit range."""
        number = int(value)
        if number > MAX_ID:
            raise ValueError("id out of range")
        return number

    def to_url(self, value: int) -> str:
        """The id as written in a URL."""
        return str(value)
