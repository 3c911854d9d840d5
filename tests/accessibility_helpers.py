"""Small hand-built networks for the accessibility tests (not a test module)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kechuang_gis.crs import lonlat_to_metric, metric_to_lonlat
from kechuang_gis.network.model import Network, default_access_model

#: A point in Suzhou (on land, inside the study area), in EPSG:4549.
X0, Y0 = (float(v) for v in lonlat_to_metric(120.60, 31.30))


def network_from_xy(xy: np.ndarray, edges: list[tuple[int, int, float]], *, access: dict | None = None,
                    kinds: list[str] | None = None) -> Network:
    """A Network from metric node coordinates and directed (u, v, travel_time_s) edges."""
    lon, lat = metric_to_lonlat(xy[:, 0], xy[:, 1])
    ids = np.arange(1, len(xy) + 1, dtype=np.int64)
    nodes = gpd.GeoDataFrame({"id": ids, "kind": kinds or ["junction"] * len(xy), "name": None},
                             geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    rows, geoms = [], []
    for k, (u, v, t) in enumerate(edges):
        length = float(np.hypot(*(xy[u] - xy[v])))
        rows.append({"u": int(ids[u]), "v": int(ids[v]), "key": k, "mode": "road", "class": "primary",
                     "length_m": length, "speed_kmh": length / t * 3.6 if length > 0 else 30.0,
                     "travel_time_s": float(t), "oneway": False, "status": "operating", "source": "test"})
        geoms.append(shapely.LineString([(lon[u], lat[u]), (lon[v], lat[v])]))
    e = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:4326")
    meta = {"name": "test", "access": access or default_access_model(max_snap_m=2000.0)}
    return Network(nodes, e, meta)


def grid_network(nx_: int = 6, ny: int = 4, spacing: float = 1000.0, speed_kmh: float = 60.0,
                 oneway_row: int | None = None) -> Network:
    """A nx_ by ny grid of two-way streets starting at (X0, Y0); one row one-way eastbound if asked."""
    xy = np.array([(X0 + i * spacing, Y0 + j * spacing) for j in range(ny) for i in range(nx_)])
    t = spacing / (speed_kmh / 3.6)
    edges = []
    for j in range(ny):
        for i in range(nx_):
            a = j * nx_ + i
            if i + 1 < nx_:
                edges.append((a, a + 1, t))
                if j != oneway_row:
                    edges.append((a + 1, a, t))
            if j + 1 < ny:
                edges.append((a, a + nx_, t))
                edges.append((a + nx_, a, t))
    return network_from_xy(xy, edges)


def points_frame(xy: list[tuple[float, float]], ids: list[str] | None = None, **cols) -> gpd.GeoDataFrame:
    """WGS84 points from metric coordinates."""
    arr = np.asarray(xy, dtype=float)
    lon, lat = metric_to_lonlat(arr[:, 0], arr[:, 1])
    data = {"id": ids or [f"p{i}" for i in range(len(arr))], **cols}
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
