"""Edge speeds: OSM ``maxspeed`` parsing, class defaults, rail running and dwell times.

Road speeds come from the way's ``maxspeed`` tag when it can be read, otherwise from the
per-class table :data:`settings.ROAD_SPEED_KMH` (the one table to edit). Values that
cannot be read are counted and reported once (a DataWarning with examples), never
silently dropped.

Rail speeds are the average operating speed between stops by class
(:data:`settings.RAIL_SPEED_KMH`), capped by a line's ``maxspeed`` when it is lower;
each intermediate stop adds a dwell time (:data:`settings.RAIL_DWELL_MIN`), split half
on the edge arriving at a station and half on the edge leaving it, so a train passing
through a stop pays the full dwell and a rider boarding or alighting pays half.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

from ..errors import warn_count
from ..settings import (
    DEFAULT_ROAD_SPEED_KMH,
    RAIL_DWELL_MIN,
    RAIL_SPEED_KMH,
    ROAD_SPEED_KMH,
)

MPH_TO_KMH = 1.609344
KNOTS_TO_KMH = 1.852
#: Symbolic maxspeed values (OSM "implicit" limits) in km/h. China's Road Traffic Safety
#: Law implementing regulations: expressways at most 120; roads with one lane per
#: direction 50 in cities and 70 outside; living streets are walking pace territory.
IMPLICIT_MAXSPEED_KMH: dict[str, float] = {
    "cn:motorway": 120.0,
    "cn:expressway": 120.0,
    "cn:urban": 50.0,
    "cn:rural": 70.0,
    "cn:living_street": 20.0,
    "walk": 5.0,
}
#: Valid OSM values that state no numeric limit: fall back to the class default, and
#: do not count them as unreadable.
NO_NUMERIC_LIMIT = frozenset({"none", "signals", "variable", "unknown", "no", "implicit"})
#: Plausible range for a road speed (km/h); anything outside is counted as unreadable.
SPEED_RANGE_KMH = (3.0, 160.0)

_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$")


def parse_maxspeed(value) -> float | None:
    """One OSM ``maxspeed`` value in km/h, or None when it states no usable number.

    Accepts ``"80"``, ``"80 km/h"``, ``"30 mph"``, ``"CN:urban"`` and lists such as
    ``"40;60"`` or ``"60|80"`` (lanes or time-dependent limits: their mean). Raises
    ValueError for strings that are not maxspeed values at all (counted by callers).
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return _in_range(float(value), value)
    text = str(value).strip().lower()
    if not text:
        return None
    if text in NO_NUMERIC_LIMIT:
        return None
    parts = [p for p in re.split(r"[;|,]", text) if p.strip()]
    if len(parts) > 1:
        speeds = [parse_maxspeed(p) for p in parts]
        numeric = [s for s in speeds if s is not None]
        return float(np.mean(numeric)) if numeric else None
    if text in IMPLICIT_MAXSPEED_KMH:
        return IMPLICIT_MAXSPEED_KMH[text]
    m = _NUMBER.match(text)
    if not m:
        raise ValueError(f"unreadable maxspeed {value!r}")
    speed = float(m.group(1))
    unit = m.group(2)
    if unit == "mph":
        speed *= MPH_TO_KMH
    elif unit == "knots":
        speed *= KNOTS_TO_KMH
    return _in_range(speed, value)


def _in_range(speed: float, raw) -> float:
    lo, hi = SPEED_RANGE_KMH
    if not lo <= speed <= hi:
        raise ValueError(f"implausible maxspeed {raw!r}")
    return speed


def parse_maxspeeds(values: Iterable) -> tuple[np.ndarray, Counter]:
    """Vector form: km/h per value (NaN = no usable number) and a Counter of unreadable ones.

    Each distinct string is parsed once, so millions of ways cost a dictionary lookup each.
    """
    values = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=object)
    out = np.full(len(values), np.nan)
    bad: Counter = Counter()
    if len(values) == 0:
        return out, bad
    keys = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                     for v in values], dtype=object)
    uniq, inverse = np.unique(keys, return_inverse=True)
    parsed = np.full(len(uniq), np.nan)
    counts = np.bincount(inverse, minlength=len(uniq))
    for i, text in enumerate(uniq):
        try:
            s = parse_maxspeed(text)
        except ValueError:
            bad[text] = int(counts[i])
            continue
        if s is not None:
            parsed[i] = s
    out[:] = parsed[inverse]
    return out, bad


def class_speed_kmh(classes: Iterable[str]) -> np.ndarray:
    """Default road speed (km/h) per OSM highway class; unknown classes get the fallback."""
    return np.array([ROAD_SPEED_KMH.get(str(c), DEFAULT_ROAD_SPEED_KMH) for c in classes], dtype=float)


def road_speeds(classes: Iterable[str], maxspeeds: Iterable, *, warn: bool = True) -> tuple[np.ndarray, Counter]:
    """Speed per road way: its readable ``maxspeed``, else the class default.

    Returns the speeds and the Counter of unreadable values; with ``warn`` a single
    DataWarning states how many ways had one, with examples.
    """
    classes = list(classes)
    parsed, bad = parse_maxspeeds(maxspeeds)
    speeds = np.where(np.isnan(parsed), class_speed_kmh(classes), parsed)
    if warn:
        report_unparsed(bad)
    return speeds, bad


def report_unparsed(bad: Counter) -> None:
    """One counted DataWarning for unreadable maxspeed values (nothing if none)."""
    warn_count("way(s) with an unreadable maxspeed (class default used)", sum(bad.values()),
               [f"{k!r}×{v}" for k, v in bad.most_common(5)])


def rail_speeds(classes: Iterable[str], maxspeeds: Iterable | None = None) -> tuple[np.ndarray, Counter]:
    """Average running speed per rail way: class speed, capped by a lower ``maxspeed``."""
    classes = list(classes)
    base = np.array([RAIL_SPEED_KMH.get(str(c), RAIL_SPEED_KMH["conventional"]) for c in classes], dtype=float)
    if maxspeeds is None:
        return base, Counter()
    parsed, bad = _parse_rail_maxspeeds(maxspeeds)
    return np.where(np.isnan(parsed), base, np.minimum(base, parsed)), bad


def _parse_rail_maxspeeds(values: Iterable) -> tuple[np.ndarray, Counter]:
    # Rail maxspeeds reach 350 km/h: parse numbers without the road plausibility range.
    vals = list(values)
    out = np.full(len(vals), np.nan)
    bad: Counter = Counter()
    for i, v in enumerate(vals):
        if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
            continue
        m = _NUMBER.match(str(v).strip().lower())
        if m and 20.0 <= float(m.group(1)) <= 400.0:
            out[i] = float(m.group(1)) * (MPH_TO_KMH if m.group(2) == "mph" else 1.0)
        else:
            bad[str(v)] += 1
    return out, bad


def travel_time_s(length_m: np.ndarray, speed_kmh: np.ndarray) -> np.ndarray:
    """Seconds to cover ``length_m`` at ``speed_kmh`` (floored at 0.01 s: routing needs > 0)."""
    t = np.asarray(length_m, float) / (np.asarray(speed_kmh, float) / 3.6)
    return np.maximum(t, 0.01)


def rail_edge_time_s(length_m: np.ndarray, speed_kmh: np.ndarray, stop_at_u: np.ndarray,
                     stop_at_v: np.ndarray, dwell_min: float = RAIL_DWELL_MIN) -> np.ndarray:
    """Rail edge time: running time plus half a dwell at each end that is a stop.

    Over a path the halves add up to one full dwell per intermediate stop; at the
    rider's first and last station half a dwell stands for boarding/alighting time.
    """
    half = dwell_min * 60.0 / 2.0
    extra = half * (np.asarray(stop_at_u, bool).astype(float) + np.asarray(stop_at_v, bool).astype(float))
    return travel_time_s(length_m, speed_kmh) + extra


def add_rail_dwell(edges, station_ids, dwell_min: float = RAIL_DWELL_MIN):
    """``edges`` with half a dwell added to rail edge times per station end (in place)."""
    rail = (edges["mode"] == "rail").to_numpy()
    if not rail.any() or len(station_ids) == 0:
        return edges
    st = np.asarray(station_ids, np.int64)
    at_u = np.isin(edges["u"].to_numpy()[rail], st)
    at_v = np.isin(edges["v"].to_numpy()[rail], st)
    tt = edges["travel_time_s"].to_numpy(float).copy()
    tt[rail] += dwell_min * 60.0 / 2.0 * (at_u.astype(float) + at_v.astype(float))
    edges["travel_time_s"] = tt
    return edges
