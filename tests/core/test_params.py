"""The parameter parsers themselves: what they accept and what they refuse (each refusal is a 400)."""
import datetime

import pytest
from django.core.exceptions import BadRequest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from labeling_app.core.http import params


@pytest.mark.parametrize("raw,expected", [("1", 1), (" 42 ", 42), ("007", 7), (str(params.MAX_ID), params.MAX_ID)])
def test_ids_accepted(raw, expected):
    assert params.id_param(QueryDict(f"id={raw}"), "id") == expected


@pytest.mark.parametrize("raw", ["²", "١", "0", "-1", "1.0", "1e3", "0x10", "abc", str(params.MAX_ID + 1),
                                 "1" * 5000, "1_000"])
def test_ids_refused_as_both_api_and_page_errors(raw):
    with pytest.raises(params.InvalidParam) as caught:
        params.id_param({"id": raw}, "id")
    assert isinstance(caught.value, ValidationError) and isinstance(caught.value, BadRequest)
    assert caught.value.detail == {"id": [caught.value.message]}


def test_absent_or_empty_is_the_default():
    assert params.id_param(QueryDict(""), "id") is None
    assert params.int_param(QueryDict("size="), "size", default=5) == 5
    with pytest.raises(params.InvalidParam):
        params.required_id(QueryDict(""), "id")


def test_clamped_and_bounded():
    assert params.clamped_int({"k": "9999"}, "k", default=20, low=1, high=200) == 200
    assert params.clamped_int({}, "k", default=20, low=1, high=200) == 20
    with pytest.raises(params.InvalidParam):
        params.int_param({"n": "301"}, "n", max_value=300)


def test_lists_choices_booleans_dates_floats():
    assert params.id_csv({"r": "1, 2,,3"}, "r") == [1, 2, 3]
    assert params.id_list([1, "2"], "r") == [1, 2]
    for bad in (["x"], "12", [True], [[1]], {"a": 1}):
        with pytest.raises(params.InvalidParam):
            params.id_list(bad, "r")
    assert params.choice_param({}, "period", {"week", "month"}, default="month") == "month"
    with pytest.raises(params.InvalidParam):
        params.choice_param({"period": "year"}, "period", {"week", "month"}, default="month")
    assert params.bool_param({"u": "false"}, "u", default=True) is False
    with pytest.raises(params.InvalidParam):
        params.bool_param({"u": "maybe"}, "u", default=True)
    assert params.date_param({"d": "2024-02-29"}, "d") == datetime.date(2024, 2, 29)
    with pytest.raises(params.InvalidParam):
        params.date_param({"d": "2024-02-30"}, "d")
    assert params.float_param({"p": "0.5"}, "p", low=0, high=1) == 0.5
    with pytest.raises(params.InvalidParam):
        params.float_param({"p": "nan"}, "p", low=0, high=1)


def test_meta_filters_keep_the_key_literal():
    assert params.meta_filters(["plan:Basic", "contains:x", "a__isnull:y:z"]) == {
        "plan": "Basic", "contains": "x", "a__isnull": "y:z"}
    for bad in ("plan", ":x", "a\x00b:x"):
        with pytest.raises(params.InvalidParam):
            params.meta_filters([bad])


def test_json_bodies():
    assert params.json_object(b"") == {}
    assert params.json_object(b'{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
    for bad in (b"{not json", b"\xff", b"[1]", b"[" * 100_000 + b"]" * 100_000,
                b'{"a":' * (params.MAX_JSON_DEPTH + 1) + b"1" + b"}" * (params.MAX_JSON_DEPTH + 1)):
        with pytest.raises(params.InvalidParam):
            params.json_object(bad)


def test_id_converter():
    converter = params.IdConverter()
    assert converter.to_python(str(params.MAX_ID)) == params.MAX_ID
    with pytest.raises(ValueError):
        converter.to_python(str(params.MAX_ID + 1))
