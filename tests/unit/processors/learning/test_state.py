"""processors.learning.state: pickle-free state bytes."""

from __future__ import annotations

import numpy as np
import pytest

from processors.learning.state import StateError, pack, prefixed, unpack, unprefixed


def test_round_trip_and_kind_guard() -> None:
    arrays = {"a": np.arange(6.0).reshape(2, 3), "b": np.array([1, 2], np.int64)}
    blob = pack("k/1", arrays, {"x": [1, 2], "big": 2**70})
    got, meta = unpack(blob, "k/1")
    assert meta == {"x": [1, 2], "big": 2**70}
    assert all(np.array_equal(got[k], v) and got[k].dtype == v.dtype for k, v in arrays.items())
    with pytest.raises(StateError):
        unpack(blob, "other/1")
    with pytest.raises(StateError):
        unpack(b"not an npz", "k/1")


def test_prefixes_nest() -> None:
    nested = prefixed("opt", {"m.W": np.zeros(2)}) | {"W": np.ones(1)}
    assert set(unprefixed("opt", nested)) == {"m.W"}
