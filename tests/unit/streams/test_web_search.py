"""The worker API's search parameters: filters and search params as the query string gives them."""

from __future__ import annotations

import pytest

from infra.errors import StoreError
from infra.qdrant.base import SearchFilter, SearchParams
from streams.web import search_filter, search_params


def test_no_search_params_means_the_store_default() -> None:
    assert search_params(None, None) is None
    assert search_params("", "") is None


@pytest.mark.parametrize("ef, exact, expected", [
    ("64", None, SearchParams(hnsw_ef=64)),
    (None, "true", SearchParams(exact=True)),
    (None, "YES", SearchParams(exact=True)),
    ("16", "0", SearchParams(hnsw_ef=16, exact=False)),
])
def test_search_params_from_the_query_string(ef, exact, expected) -> None:
    assert search_params(ef, exact) == expected


@pytest.mark.parametrize("ef, exact, error", [
    ("wide", None, ValueError), ("1.5", None, ValueError), (None, "maybe", ValueError),
    ("0", None, StoreError), ("10001", None, StoreError), ("-3", None, StoreError),
])
def test_bad_search_params_are_refused(ef, exact, error) -> None:
    with pytest.raises(error):
        search_params(ef, exact)


def test_empty_filter_fields_are_left_out() -> None:
    assert search_filter("code", None, "", None, "function") == SearchFilter(equals={"doc_type": "code", "kind": "function"})
