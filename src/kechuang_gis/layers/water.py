"""Lakes and rivers of the region.

Lakes: Natural Earth 1:10m (public domain), about 500 m precision. Rivers: polylines
through published waypoints (``geodata/sources/waypoints.csv``), each with an honest
``precision_m``; see geodata/README.md.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..crs import convert_xy
from ..errors import InputError
from ..settings import GEODATA_DIR, WGS84
from .files import committed_layer

#: Waypoint features that are rivers (the file also holds road axes such as 亚太路).
RIVER_NAMES = {
    "wusong_river": ("吴淞江", "Wusong River"),
    "grand_canal": ("京杭运河", "Grand Canal (Jiangnan section)"),
}


def lakes() -> gpd.GeoDataFrame:
    """Lake polygons (太湖, 阳澄湖, 滆湖, 长荡湖, 石臼湖, 南漪湖) with name_zh, name_en, precision_m."""
    return committed_layer("lakes")


def rivers() -> gpd.GeoDataFrame:
    """River polylines with id, name_zh, name_en, precision_m, source."""
    return committed_layer("rivers")


def taihu() -> shapely.Geometry:
    lk = committed_layer("lakes", copy=False)
    return lk.loc[lk["name_zh"] == "太湖"].geometry.iloc[0]


def read_waypoints(path: Path | None = None) -> pd.DataFrame:
    """The authored waypoint table, converted to WGS84 (columns lon, lat replaced)."""
    path = path or GEODATA_DIR / "sources" / "waypoints.csv"
    df = pd.read_csv(path, dtype={"feature": str, "datum": str})
    required = {"feature", "seq", "name_zh", "lon", "lat", "datum", "precision_m", "source"}
    missing = required - set(df.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {sorted(missing)}")
    df = df.dropna(subset=["lon", "lat"]).sort_values(["feature", "seq"]).reset_index(drop=True)
    for datum, idx in df.groupby(df["datum"].fillna("wgs84").str.lower()).groups.items():
        lon, lat = convert_xy(df.loc[idx, "lon"], df.loc[idx, "lat"], datum, "wgs84")
        df.loc[idx, "lon"], df.loc[idx, "lat"] = lon, lat
    return df


def line_features(features: dict[str, tuple[str, str]], path: Path | None = None) -> gpd.GeoDataFrame:
    """Polylines through the waypoints of the named features, in order of ``seq``.

    ``precision_m`` of a line is the largest precision of its waypoints: the line is no
    better than its worst-placed vertex.
    """
    wp = read_waypoints(path)
    rows = []
    for fid, (zh, en) in features.items():
        pts = wp[wp["feature"] == fid]
        if len(pts) < 2:
            continue
        rows.append({
            "id": fid, "name_zh": zh, "name_en": en,
            "precision_m": float(pts["precision_m"].max()),
            "waypoints": ";".join(pts["name_zh"].astype(str)),
            "source": "authored polyline through published waypoints (geodata/sources/waypoints.csv)",
            "geometry": shapely.LineString(np.column_stack([pts["lon"], pts["lat"]])),
        })
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)
