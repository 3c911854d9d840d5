"""Origins and destinations for accessibility: grids, H3 hexagons, places and user files.

Origins are a GeoDataFrame in WGS84 with ``id`` (str), ``geometry`` (the cell polygon
clipped to land for ``grid``/``hex``, the point otherwise) and ``lon``/``lat``: the point
that is routed from. A cell is routed from its centre when the centre is on land, else
from a point inside its land part, so no origin ever sits in a lake. Cells carry
``area_m2`` (land area, EPSG:4549). ``gdf.attrs['origin_kind']`` records the kind and
``gdf.attrs['cell_size_m']`` the grid step, which the raster surfaces use.

Study land = the study area (:func:`kechuang_gis.layers.admin.study_area`) minus the
lakes (:func:`kechuang_gis.layers.water.lakes`); both can be replaced by the caller.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ..crs import metric_to_lonlat
from ..errors import InputError, warn_count
from ..io import read_points
from ..settings import METRIC_CRS, WGS84

#: Gazetteer kinds that count as innovation destinations for ``--destinations parks``.
PARK_KINDS = ("park", "science_city", "campus", "institute", "lab", "platform", "district_zone")
HUB_KINDS = ("hub",)
#: Smallest grid step and coarsest/finest H3 resolutions accepted (a typo guard:
#: a 1 m grid over 40,000 km2 would never finish).
MIN_GRID_M = 50.0
H3_RES_RANGE = (0, 12)


# --- study land ----------------------------------------------------------------------

def study_land(area: BaseGeometry | gpd.GeoDataFrame | None = None,
               lakes: BaseGeometry | gpd.GeoDataFrame | None = None) -> BaseGeometry:
    """Study area minus lakes, in EPSG:4549 (metres)."""
    if area is None:
        from ..layers.admin import study_area

        area = study_area()
    if lakes is None:
        from ..layers.water import lakes as _lakes

        lakes = _lakes()
    land = _metric_union(area)
    water = _metric_union(lakes)
    if water is not None and not water.is_empty:
        land = shapely.difference(land, water)
    if land is None or land.is_empty:
        raise InputError("the study area has no land once lakes are removed")
    shapely.prepare(land)
    return land


def _metric_union(obj) -> BaseGeometry | None:
    if obj is None:
        return None
    if isinstance(obj, BaseGeometry):
        obj = gpd.GeoSeries([obj], crs=WGS84)
    if isinstance(obj, gpd.GeoDataFrame):
        obj = obj.geometry
    if obj.crs is None:
        raise InputError("area/lake geometry has no CRS; declare it (WGS84 is EPSG:4326)")
    if len(obj) == 0:
        return shapely.GeometryCollection()
    return shapely.make_valid(shapely.union_all(np.asarray(obj.to_crs(METRIC_CRS).values)))


# --- cells ---------------------------------------------------------------------------

def _cells_frame(ids: np.ndarray, cells_m: np.ndarray, land: BaseGeometry, kind: str,
                 centre_x: np.ndarray, centre_y: np.ndarray) -> gpd.GeoDataFrame:
    """Clip metric cells to land, choose the routing point, return a WGS84 frame."""
    touches = shapely.intersects(land, cells_m)
    ids, cells_m = ids[touches], cells_m[touches]
    cx, cy = centre_x[touches], centre_y[touches]
    inside = shapely.contains_properly(land, cells_m)
    clipped = cells_m.copy()
    edge = ~inside
    if edge.any():
        clipped[edge] = shapely.intersection(cells_m[edge], land)
    # Keep only the areal part of a clipped cell (a boundary can leave lines/points).
    clipped = np.array([_polygonal(g) for g in clipped], dtype=object)
    area = shapely.area(clipped)
    keep = area > 0
    ids, clipped, cx, cy, area = ids[keep], clipped[keep], cx[keep], cy[keep], area[keep]
    centre_ok = shapely.contains_xy(clipped, cx, cy)
    rep = shapely.point_on_surface(clipped[~centre_ok])
    px, py = cx.copy(), cy.copy()
    px[~centre_ok] = shapely.get_x(rep)
    py[~centre_ok] = shapely.get_y(rep)
    lon, lat = metric_to_lonlat(px, py)
    gdf = gpd.GeoDataFrame({"id": ids.astype(str), "lon": lon, "lat": lat, "area_m2": area},
                           geometry=gpd.GeoSeries(clipped, crs=METRIC_CRS).to_crs(WGS84).values,
                           crs=WGS84)
    gdf.attrs["origin_kind"] = kind
    return gdf


def _polygonal(g: BaseGeometry) -> BaseGeometry:
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def grid_origins(step_m: float, area=None, lakes=None) -> gpd.GeoDataFrame:
    """Square cells of ``step_m`` metres in EPSG:4549, aligned to multiples of the step.

    Every cell that touches study land is kept, clipped to it: the cells' areas add up
    to the land area exactly, and ``area_m2 < step_m**2`` marks shore and border cells.
    """
    step = float(step_m)
    if not step >= MIN_GRID_M:
        raise InputError(f"grid step must be at least {MIN_GRID_M:g} m, got {step_m!r}")
    land = study_land(area, lakes)
    x0, y0, x1, y1 = land.bounds
    ix0, iy0 = math.floor(x0 / step), math.floor(y0 / step)
    ix1, iy1 = math.ceil(x1 / step), math.ceil(y1 / step)
    cols, rows = np.meshgrid(np.arange(ix0, ix1), np.arange(iy0, iy1))
    cols, rows = cols.ravel(), rows.ravel()
    if cols.size > 5_000_000:
        raise InputError(f"grid:{step_m:g} would make {cols.size:,} cells; use a larger step")
    cells = shapely.box(cols * step, rows * step, (cols + 1) * step, (rows + 1) * step)
    ids = np.array([f"g{int(step)}_{c}_{r}" for c, r in zip(cols, rows, strict=True)], dtype=object)
    gdf = _cells_frame(ids, cells, land, "grid", (cols + 0.5) * step, (rows + 0.5) * step)
    gdf.attrs["cell_size_m"] = step
    return gdf


def hex_origins(res: int, area=None, lakes=None) -> gpd.GeoDataFrame:
    """H3 cells of resolution ``res`` covering study land, clipped to it (ids = H3 index)."""
    res = int(res)
    if not H3_RES_RANGE[0] <= res <= H3_RES_RANGE[1]:
        raise InputError(f"H3 resolution must be in {H3_RES_RANGE[0]}..{H3_RES_RANGE[1]}, got {res}")
    land = study_land(area, lakes)
    land_ll = gpd.GeoSeries([land], crs=METRIC_CRS).to_crs(WGS84).iloc[0]
    # Cells whose centre is on land, their neighbours (cells overlapping the shore) and
    # the cell of a point in every land part (islands smaller than a cell).
    cells = set(h3.geo_to_cells(land_ll, res))
    for part in getattr(land_ll, "geoms", [land_ll]):
        p = part.representative_point()
        cells.add(h3.latlng_to_cell(p.y, p.x, res))
    ring = set()
    for c in cells:
        ring.update(h3.grid_disk(c, 1))
    ids = np.array(sorted(ring), dtype=object)
    polys = [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in ids]
    cells_m = np.asarray(gpd.GeoSeries(polys, crs=WGS84).to_crs(METRIC_CRS).values)
    centres = np.array([h3.cell_to_latlng(c) for c in ids])
    cx, cy = _lonlat_to_metric(centres[:, 1], centres[:, 0])
    gdf = _cells_frame(ids, cells_m, land, "hex", cx, cy)
    gdf.attrs["h3_res"] = res
    # Surfaces are rasterised at half the hexagon edge: each hexagon gets several pixels.
    gdf.attrs["cell_size_m"] = float(h3.average_hexagon_edge_length(res, unit="m")) / 2.0
    return gdf


def _lonlat_to_metric(lon, lat):
    from ..crs import lonlat_to_metric

    x, y = lonlat_to_metric(lon, lat)
    return np.asarray(x), np.asarray(y)


# --- points --------------------------------------------------------------------------

def _points_frame(gdf: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    gdf = gdf.copy()
    pts = gdf.geometry
    if not (pts.geom_type == "Point").all():
        pts = gpd.GeoSeries(shapely.point_on_surface(np.asarray(pts.values)), crs=gdf.crs)
    gdf = gdf.set_geometry(pts.values).set_crs(WGS84, allow_override=True)
    gdf["lon"], gdf["lat"] = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    gdf["id"] = gdf["id"].astype(str)
    gdf.attrs["origin_kind"] = kind
    return gdf.reset_index(drop=True)


def county_origins() -> gpd.GeoDataFrame:
    """One origin per county: its representative point (always inside the county)."""
    from ..layers.admin import admin_county

    c = admin_county()
    return _points_frame(gpd.GeoDataFrame({"id": c["adcode"].astype(str), "name": c["name"]},
                                          geometry=c.geometry.values, crs=WGS84), "counties")


def gazetteer_points(kinds: tuple[str, ...] | None = None) -> gpd.GeoDataFrame:
    """Located gazetteer places (polygons stand for their representative point)."""
    from ..layers.gazetteer import select_places

    g = select_places(kinds=kinds)  # a 5G pilot zone designating a park is not a second park
    cols = [c for c in ("id", "name_zh", "kind", "status") if c in g.columns]
    return _points_frame(g[cols + [g.geometry.name]], "gazetteer")


def file_points(path: str | Path, datum: str = "wgs84") -> gpd.GeoDataFrame:
    """Points from a user file (CSV id,lon,lat / GeoJSON / GPKG / GeoParquet)."""
    return _points_frame(read_points(path, datum=datum), "file")


_SPEC = re.compile(r"^(hex|grid):(.+)$")


def load_origins(spec: str | gpd.GeoDataFrame, *, datum: str = "wgs84",
                 area=None, lakes=None) -> gpd.GeoDataFrame:
    """Origins from a spec: ``hex:RES``, ``grid:METERS``, ``counties``, ``gazetteer``, a file or a frame."""
    if isinstance(spec, gpd.GeoDataFrame):
        return _user_frame(spec, "frame")
    spec = str(spec).strip()
    m = _SPEC.match(spec)
    if m:
        kind, arg = m.groups()
        try:
            value = int(arg) if kind == "hex" else float(arg)
        except ValueError as exc:
            raise InputError(f"origins {spec!r}: {kind}: needs a number, e.g. hex:8 or grid:1000") from exc
        return hex_origins(value, area, lakes) if kind == "hex" else grid_origins(value, area, lakes)
    if spec == "counties":
        return county_origins()
    if spec == "gazetteer":
        return gazetteer_points()
    if Path(spec).suffix:
        return file_points(spec, datum)
    raise InputError(f"origins {spec!r}: use hex:RES, grid:METERS, counties, gazetteer or a file")


def _user_frame(gdf: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """A caller's GeoDataFrame: must have a CRS and unique ids; polygons are cells."""
    if gdf.crs is None:
        raise InputError("origins/destinations GeoDataFrame has no CRS; declare it (EPSG:4326)")
    if "id" not in gdf.columns:
        raise InputError("origins/destinations GeoDataFrame needs an 'id' column")
    gdf = gdf.to_crs(WGS84).reset_index(drop=True)
    ids = gdf["id"].astype(str)
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        raise InputError(f"duplicate ids: {', '.join(dup[:10])}")
    if (gdf.geometry.geom_type == "Point").all():
        return _points_frame(gdf, kind)
    out = gdf.copy()
    out["id"] = ids
    metric = gdf.geometry.to_crs(METRIC_CRS)
    rep = metric.representative_point()
    out["lon"], out["lat"] = metric_to_lonlat(rep.x.to_numpy(), rep.y.to_numpy())
    out["area_m2"] = metric.area.to_numpy()
    out.attrs["origin_kind"] = kind
    return out


# --- destinations --------------------------------------------------------------------

def load_destinations(spec: str | gpd.GeoDataFrame, *, datum: str = "wgs84",
                      mass_col: str | None = None) -> gpd.GeoDataFrame:
    """Destinations (points, WGS84) with ``id``, ``mass`` (1 when no mass column).

    ``parks``: gazetteer kinds :data:`PARK_KINDS`; ``hubs``: :data:`HUB_KINDS`;
    ``gazetteer``: every located place; otherwise a file or a GeoDataFrame. Masses must
    be finite and non-negative: NaN or negative masses are an error naming the ids.
    """
    where = "destinations"
    if isinstance(spec, gpd.GeoDataFrame):
        gdf = _user_frame(spec, "frame")
        if not (spec.geometry.geom_type == "Point").all():
            gdf = gdf.set_geometry(gpd.points_from_xy(gdf["lon"], gdf["lat"]), crs=WGS84)
    else:
        spec = str(spec).strip()
        where = spec
        if spec == "parks":
            gdf = gazetteer_points(PARK_KINDS)
        elif spec == "hubs":
            gdf = gazetteer_points(HUB_KINDS)
        elif spec == "gazetteer":
            gdf = gazetteer_points()
        elif Path(spec).suffix:
            gdf = file_points(spec, datum)
        else:
            raise InputError(f"destinations {spec!r}: use parks, hubs, gazetteer or a file with id,lon,lat")
    if len(gdf) == 0:
        raise InputError(f"{where}: no destinations")
    if mass_col:
        if mass_col not in gdf.columns:
            raise InputError(f"{where}: no mass column {mass_col!r} (columns: {', '.join(map(str, gdf.columns))})")
        mass = pd.to_numeric(gdf[mass_col], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(mass) | (mass < 0)
        if bad.any():
            ids = gdf.loc[bad, "id"].astype(str).tolist()
            raise InputError(f"{where}: {int(bad.sum())} destination(s) with missing, NaN or negative "
                             f"{mass_col!r}: {', '.join(ids[:10])}")
        if not (mass > 0).any():
            raise InputError(f"{where}: every {mass_col!r} is zero")
        gdf["mass"] = mass
    else:
        gdf["mass"] = 1.0
    return gdf


def warn_outside(points: gpd.GeoDataFrame, what: str, area=None) -> int:
    """Counted warning for points outside the study area (they are kept)."""
    if area is None:
        from ..layers.admin import study_area

        area = study_area()
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        area = shapely.union_all(np.asarray(area.to_crs(WGS84).geometry.values))
    outside = ~shapely.contains_xy(area, points["lon"].to_numpy(), points["lat"].to_numpy())
    ids = points.loc[outside, "id"].astype(str).tolist()
    warn_count(f"{what} outside the study area (kept)", len(ids), ids)
    return len(ids)


__all__ = [
    "PARK_KINDS", "HUB_KINDS", "study_land", "grid_origins", "hex_origins", "county_origins",
    "gazetteer_points", "file_points", "load_origins", "load_destinations", "warn_outside",
]
