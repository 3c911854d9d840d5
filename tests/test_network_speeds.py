"""maxspeed parsing, class defaults and rail times, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from kechuang_gis.errors import DataWarning
from kechuang_gis.network.speeds import (
    parse_maxspeed,
    parse_maxspeeds,
    rail_edge_time_s,
    rail_speeds,
    road_speeds,
    travel_time_s,
)


@pytest.mark.parametrize("raw, kmh", [
    ("80", 80.0),
    ("80 km/h", 80.0),
    ("60kmh", 60.0),
    ("30 mph", 30 * 1.609344),
    ("CN:motorway", 120.0),
    ("cn:urban", 50.0),
    ("CN:rural", 70.0),
    ("40;60", 50.0),          # a list: the mean
    ("60|80", 70.0),
    (" 100 ", 100.0),
    (90, 90.0),
])
def test_parse_maxspeed_values(raw, kmh):
    assert parse_maxspeed(raw) == pytest.approx(kmh)


@pytest.mark.parametrize("raw", [None, "", "none", "signals", "variable", float("nan")])
def test_no_numeric_limit(raw):
    assert parse_maxspeed(raw) is None


@pytest.mark.parametrize("raw", ["fast", "CN:zone30x", "80 furlongs", "0", "999", "-20"])
def test_unreadable_values_raise(raw):
    with pytest.raises(ValueError):
        parse_maxspeed(raw)


def test_vector_parse_counts_unreadable_per_value():
    speeds, bad = parse_maxspeeds(["50", "fast", "fast", None, "signals", "30 mph", "zzz"])
    assert np.isnan(speeds[[1, 2, 3, 4, 6]]).all()
    assert speeds[0] == 50.0 and speeds[5] == pytest.approx(48.28032)
    assert bad == {"fast": 2, "zzz": 1}


def test_road_speeds_fall_back_to_class_defaults_and_warn_once():
    # Defaults stated in the issue: motorway 110, trunk 80, primary 60, secondary 50,
    # tertiary 40, residential 30; an unknown class gets the 30 km/h fallback.
    classes = ["motorway", "trunk", "primary", "secondary", "tertiary", "residential", "weird", "primary"]
    maxs = [None, "junk", None, "", None, "none", None, "70"]
    with pytest.warns(DataWarning, match="1 way"):
        speeds, bad = road_speeds(classes, maxs)
    assert speeds.tolist() == [110, 80, 60, 50, 40, 30, 30, 70]
    assert bad == {"junk": 1}


def test_rail_speeds_capped_by_lower_maxspeed():
    speeds, bad = rail_speeds(["hsr", "hsr", "intercity", "conventional", "conventional"],
                              ["350", "200", None, "80", "x"])
    assert speeds.tolist() == [250.0, 200.0, 160.0, 80.0, 100.0]
    assert bad == {"x": 1}


def test_rail_edge_time_adds_half_dwell_per_stop_end():
    # 10 km at 200 km/h = 180 s; a 2-min dwell adds 60 s per stop end.
    t = rail_edge_time_s(np.array([10_000.0] * 3), np.array([200.0] * 3),
                         np.array([False, True, True]), np.array([False, False, True]), dwell_min=2.0)
    assert t.tolist() == pytest.approx([180.0, 240.0, 300.0])


def test_travel_time_is_positive_even_for_zero_length():
    assert travel_time_s(np.array([0.0, 1000.0]), np.array([36.0, 36.0])).tolist() == [0.01, 100.0]
