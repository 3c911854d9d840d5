"""Isochrones: the area from which a destination is reached within T minutes.

Built from the travel-time field on the network, not circles: every active node that
reaches the destination in ``t <= T`` contributes a disc of the remaining time driven at
the access model's speed, ``r = (T - t) x speed / detour`` (capped at the maximum
snapping distance, like an origin's own access leg). The union, clipped to study land
(lakes excluded), is the isochrone. Geometry work is in the graph's metric CRS
(EPSG:4549 in the region).

This is the reach of the network's nodes: an origin joins the network at one street
(:mod:`.snap`), so its own time can be longer than the disc around a node suggests (a
one-way street, a motorway it may not join); the isochrones are the area drawn, the
origins' times are the numbers.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import InputError
from ..network.model import CSRGraph
from ..settings import METRIC_CRS, WGS84

#: Default isochrone times (minutes).
DEFAULT_MINUTES = (15, 30, 45, 60, 90)
#: Segments per quarter circle for the discs: 4 keeps shapes within 2 % of a true
#: circle's radius at a fraction of the cost of the shapely default (8).
QUAD_SEGS = 4


def parse_minutes(value) -> tuple[float, ...]:
    """Isochrone times from ``"15,30,45"`` or a sequence; positive, sorted, unique."""
    if isinstance(value, str):
        parts = [p for p in value.replace(" ", "").split(",") if p]
        try:
            vals = [float(p) for p in parts]
        except ValueError as exc:
            raise InputError(f"isochrone minutes {value!r}: use numbers like 15,30,45") from exc
    else:
        vals = [float(v) for v in value]
    if not vals or any(not v > 0 for v in vals):
        raise InputError(f"isochrone minutes must be positive numbers, got {value!r}")
    return tuple(sorted(set(vals)))


def reach_polygon(graph: CSRGraph, nodes: np.ndarray, times_s: np.ndarray, dest_xy: tuple[float, float],
                  minutes: float, access: dict,
                  land: BaseGeometry | None = None) -> BaseGeometry:
    """The isochrone of ``minutes`` (EPSG:4549 polygon) from the reach of one destination.

    ``nodes``/``times_s``: node positions reaching the destination and their times (s),
    ``dest_xy`` the destination in EPSG:4549.
    """
    limit = minutes * 60.0
    speed = float(access["speed_kmh"]) / 3.6
    detour = float(access["detour_factor"])
    cap = float(access["max_snap_m"])
    remaining = limit - times_s
    ok = remaining >= 0
    radius = np.minimum(remaining[ok] * speed / detour, cap)
    xs = graph.x[nodes[ok]]
    ys = graph.y[nodes[ok]]
    if not len(xs):
        return shapely.Polygon()
    discs = shapely.buffer(shapely.points(xs, ys), radius, quad_segs=QUAD_SEGS)
    shape = shapely.union_all(discs)
    if land is not None:
        shape = shapely.intersection(shape, land)
    return shape


def isochrones(graph: CSRGraph, dests: gpd.GeoDataFrame, dest_x: np.ndarray, dest_y: np.ndarray,
               reach: list, minutes, access: dict,
               land: BaseGeometry | None = None) -> gpd.GeoDataFrame:
    """Isochrone polygons (WGS84) for every destination and time: dest_id, minutes, area_km2."""
    mins = parse_minutes(minutes)
    if land is not None and graph.crs not in (None, METRIC_CRS):
        land = gpd.GeoSeries([land], crs=METRIC_CRS).to_crs(graph.crs).iloc[0]
    rows, geoms = [], []
    for j, (nodes, times) in enumerate(reach):
        did = str(dests["id"].iloc[j])
        for t in mins:
            g = reach_polygon(graph, nodes, times, (dest_x[j], dest_y[j]), t, access, land)
            rows.append({"dest_id": did, "minutes": float(t), "area_km2": float(g.area) / 1e6,
                         "reached_nodes": int((times <= t * 60.0).sum())})
            geoms.append(g)
    crs = graph.crs or METRIC_CRS
    frame = gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=crs).values, crs=crs)
    if frame.empty:
        frame = gpd.GeoDataFrame({"dest_id": [], "minutes": [], "area_km2": [], "reached_nodes": []},
                                 geometry=[], crs=crs)
    return frame.to_crs(WGS84)
