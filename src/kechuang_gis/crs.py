"""Coordinate systems: WGS84, GCJ-02 and BD-09 datums, and the metric CRS policy.

Chinese web maps use two obfuscated datums: GCJ-02 (AMap/高德, Tencent, most Chinese
maps) and BD-09 (Baidu, GCJ-02 with a further rotation). Mixing them with WGS84 (OSM,
GPS) shifts features by 300-700 m in the Taihu region. This module converts between the
three for numpy arrays, shapely geometries and GeoDataFrames.

The CRS policy of the package: store and exchange WGS84 (EPSG:4326); compute distances,
areas, buffers, grids and snapping in EPSG:4549 (:data:`settings.METRIC_CRS`); convert
GCJ-02 / BD-09 inputs with :func:`to_wgs84_datum` at the edge of the program.

The GCJ-02 forward transform is the published polynomial approximation (Krasovsky 1940
ellipsoid constants); it has no closed-form inverse, so WGS84 is recovered by fixed-point
iteration until the round trip agrees to well under a millimetre. GCJ-02 applies only in
mainland China: points outside it (the sea beyond the coast, Hong Kong, Macau, Taiwan,
other countries) are returned unchanged.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TypeVar

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .errors import InputError
from .settings import METRIC_CRS, PACKAGE_DIR, WGS84

DATUMS = ("wgs84", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
# BD-09's rotation constant.
_X_PI = np.pi * 3000.0 / 180.0

#: Coarse rectangle around mainland China; points outside it are never shifted.
_CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)
#: Where GCJ-02 applies: mainland China's land with a ~25 km coastal margin (Chinese maps
#: shift their coastal waters too), without Hong Kong, Macau and Taiwan; WGS84, coarse
#: (0.02 degrees). Built by scripts/build_admin.py; packaged with the code.
_MAINLAND_FILE = PACKAGE_DIR / "data" / "mainland_china.geojson"

ArrayLike = np.ndarray | float | list
G = TypeVar("G", np.ndarray, BaseGeometry, gpd.GeoDataFrame, gpd.GeoSeries)


def normalise_datum(datum: str) -> str:
    """Return the canonical datum name or raise InputError naming the accepted ones."""
    key = str(datum).strip().lower().replace("-", "").replace("_", "")
    aliases = {"wgs84": "wgs84", "epsg4326": "wgs84", "gps": "wgs84", "gcj02": "gcj02",
               "gcj": "gcj02", "amap": "gcj02", "mars": "gcj02", "bd09": "bd09",
               "baidu": "bd09", "bd09ll": "bd09"}
    if key not in aliases:
        raise InputError(f"unknown datum {datum!r}: use one of {', '.join(DATUMS)}")
    return aliases[key]


@lru_cache(maxsize=1)
def _mainland_polygon() -> BaseGeometry:
    with open(_MAINLAND_FILE, encoding="utf-8") as f:
        geom = shapely.geometry.shape(json.load(f)["geometry"])
    shapely.prepare(geom)
    return geom


def in_mainland_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Boolean mask: which points lie in mainland China, where GCJ-02 applies."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    shape = np.broadcast_shapes(lon.shape, lat.shape)
    lon = np.atleast_1d(np.broadcast_to(lon, shape)).ravel()
    lat = np.atleast_1d(np.broadcast_to(lat, shape)).ravel()
    x0, y0, x1, y1 = _CHINA_BBOX
    mask = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1) & np.isfinite(lon) & np.isfinite(lat)
    if mask.any():
        mask[mask] = shapely.contains_xy(_mainland_polygon(), lon[mask], lat[mask])
    return mask.reshape(shape)


def _gcj_offsets(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 in degrees at WGS84 position (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    wave_x = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + wave_x
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + wave_x
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    smagic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * smagic) * np.pi)
    dlon = dlon * 180.0 / (_A / smagic * np.cos(rad) * np.pi)
    return dlon, dlat


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    lon = np.array(lon, dtype=float, copy=True)
    lat = np.array(lat, dtype=float, copy=True)
    if lon.shape != lat.shape:
        raise InputError(f"lon and lat differ in shape: {lon.shape} vs {lat.shape}")
    return lon, lat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS84 coordinates to GCJ-02 (unchanged outside mainland China)."""
    lon, lat = _as_arrays(lon, lat)
    m = in_mainland_china(lon, lat)
    dlon, dlat = _gcj_offsets(lon[m], lat[m])
    lon[m] += dlon
    lat[m] += dlat
    return lon, lat


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Invert GCJ-02 to WGS84, consistently with the forward rule.

    The forward transform shifts a point exactly when its WGS84 position is in mainland
    China; a point near the border can be shifted across it. So the inverse is solved
    for every candidate near China and kept where the *solution* is in mainland China;
    elsewhere the point is its own preimage and stays unchanged.
    """
    return _inverse_by_rule(invert_gcj02, lon, lat, tol_deg, max_iter)


def _inverse_by_rule(invert, lon: ArrayLike, lat: ArrayLike, tol_deg: float, max_iter: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    out_lon, out_lat = _as_arrays(lon, lat)
    # Shifts are below 0.01 degrees: only points within that margin of the box can move.
    x0, y0, x1, y1 = _CHINA_BBOX
    near = ((out_lon >= x0 - 0.01) & (out_lon <= x1 + 0.01) & (out_lat >= y0 - 0.01)
            & (out_lat <= y1 + 0.01) & np.isfinite(out_lon) & np.isfinite(out_lat))
    if near.any():
        w_lon, w_lat = invert(out_lon[near], out_lat[near], tol_deg, max_iter)
        keep = in_mainland_china(w_lon, w_lat)
        sel = np.flatnonzero(near.ravel())[keep.ravel()]
        out_lon.ravel()[sel] = w_lon.ravel()[keep.ravel()]
        out_lat.ravel()[sel] = w_lat.ravel()[keep.ravel()]
    return out_lon, out_lat


def _fixed_point_inverse(forward, tlon: np.ndarray, tlat: np.ndarray, lon: np.ndarray, lat: np.ndarray,
                         tol_deg: float, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(lon, lat) = (tlon, tlat) by p <- p - (forward(p) - target).

    Both datum shifts are smooth and small (their gradient is far below 1), so the map
    contracts: a few iterations reach ``tol_deg``.
    """
    lon, lat = lon.copy(), lat.copy()
    for _ in range(max_iter):
        flon, flat = forward(lon, lat)
        elon, elat = flon - tlon, flat - tlat
        lon -= elon
        lat -= elat
        if elon.size == 0 or max(np.abs(elon).max(), np.abs(elat).max()) < tol_deg:
            break
    return lon, lat


def _gcj_forward(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_offsets(lon, lat)
    return lon + dlon, lat + dlat


def invert_gcj02(
    glon: np.ndarray, glat: np.ndarray, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-point inversion of the GCJ-02 shift, with no mainland test.

    3-5 iterations reach 1e-10 degrees (about 0.01 mm). Used directly only where every
    point is known to be in China.
    """
    glon = np.asarray(glon, dtype=float)
    glat = np.asarray(glat, dtype=float)
    return _fixed_point_inverse(_gcj_forward, glon, glat, glon, glat, tol_deg, max_iter)


def _gcj02_to_bd09_raw(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Rotate GCJ-02 to BD-09 (unchanged outside mainland China)."""
    lon, lat = _as_arrays(lon, lat)
    m = in_mainland_china(lon, lat)
    lon[m], lat[m] = _gcj02_to_bd09_raw(lon[m], lat[m])
    return lon, lat


def _invert_bd09(blon: np.ndarray, blat: np.ndarray, tol_deg: float, max_iter: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    x, y = blon - 0.0065, blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _fixed_point_inverse(_gcj02_to_bd09_raw, blon, blat, z * np.cos(theta),
                                z * np.sin(theta), tol_deg, max_iter)


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Invert BD-09 to GCJ-02: closed-form start refined by fixed-point iteration, kept
    where the solution is in mainland China (the forward rule), as for GCJ-02."""
    return _inverse_by_rule(_invert_bd09, lon, lat, tol_deg, max_iter)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 to BD-09 through GCJ-02."""
    # The mainland test is made once on the WGS84 input so that a point near the
    # border is treated consistently in both steps.
    lon, lat = _as_arrays(lon, lat)
    m = in_mainland_china(lon, lat)
    glon, glat = lon[m], lat[m]
    dlon, dlat = _gcj_offsets(glon, glat)
    lon[m], lat[m] = _gcj02_to_bd09_raw(glon + dlon, glat + dlat)
    return lon, lat


def _wgs_to_bd09_raw(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _gcj02_to_bd09_raw(*_gcj_forward(lon, lat))


def _invert_bd09_to_wgs(blon: np.ndarray, blat: np.ndarray, tol_deg: float, max_iter: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    return _fixed_point_inverse(_wgs_to_bd09_raw, blon, blat, blon, blat, tol_deg, max_iter)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike, tol_deg: float = 1e-10, max_iter: int = 40
                  ) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to WGS84 in one inversion of the composite shift, kept where the WGS84
    solution is in mainland China (the rule the forward transform applies)."""
    return _inverse_by_rule(_invert_bd09_to_wgs, lon, lat, tol_deg, max_iter)


_CONVERTERS = {
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("wgs84", "bd09"): wgs84_to_bd09,
    ("bd09", "wgs84"): bd09_to_wgs84,
}


def convert_xy(lon: ArrayLike, lat: ArrayLike, src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinate arrays between any two of wgs84, gcj02, bd09."""
    src, dst = normalise_datum(src), normalise_datum(dst)
    if src == dst:
        return _as_arrays(lon, lat)
    return _CONVERTERS[(src, dst)](lon, lat)


def _convert_geometry_array(geoms: np.ndarray, src: str, dst: str) -> np.ndarray:
    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = convert_xy(coords[:, 0], coords[:, 1], src, dst)
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def convert(obj: G, src: str, dst: str) -> G:
    """Convert a shapely geometry, GeoSeries or GeoDataFrame between datums.

    GeoSeries/GeoDataFrames must be in geographic WGS84-style coordinates (EPSG:4326 or
    no CRS): a datum shift of projected coordinates is meaningless and is refused.
    """
    src, dst = normalise_datum(src), normalise_datum(dst)
    if isinstance(obj, gpd.GeoDataFrame | gpd.GeoSeries):
        if obj.crs is not None and not obj.crs.equals(WGS84):
            raise InputError(
                f"datum conversion needs longitude/latitude (EPSG:4326); got {obj.crs.to_string()}"
            )
        out = obj.copy()
        geoms = _convert_geometry_array(np.asarray(obj.geometry.values), src, dst)
        if isinstance(out, gpd.GeoDataFrame):
            out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=WGS84)
            return out.set_crs(WGS84, allow_override=True)
        return gpd.GeoSeries(geoms, index=out.index, crs=WGS84)
    if isinstance(obj, BaseGeometry):
        return _convert_geometry_array(np.array([obj], dtype=object), src, dst)[0]
    raise InputError(f"cannot convert object of type {type(obj).__name__}")


def to_wgs84_datum(gdf: gpd.GeoDataFrame, datum: str) -> gpd.GeoDataFrame:
    """The edge of the program: declare the datum of incoming lon/lat data, get WGS84."""
    datum = normalise_datum(datum)
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    return gdf if datum == "wgs84" else convert(gdf, datum, "wgs84")


def to_metric(obj: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Project to the metric CRS (EPSG:4549); refuse data without a CRS."""
    if obj.crs is None:
        raise InputError("data has no CRS; declare it (WGS84 is EPSG:4326) before metric work")
    return obj.to_crs(METRIC_CRS)


def to_storage(obj: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Project back to WGS84 for storage and exchange."""
    if obj.crs is None:
        raise InputError("data has no CRS; cannot bring it to WGS84")
    return obj.to_crs(WGS84)


@lru_cache(maxsize=16)
def _transformer(src: str, dst: str):
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


#: EPSG:4549 is the 3-degree Gauss-Kruger zone of CM 120E. Transverse Mercator stretches
#: distances by about (d_lon cos(lat))^2 / 2 away from its central meridian: within 3
#: degrees of it that stays under 0.1 % at the region's latitudes, so EPSG:4549 serves
#: data within this many degrees of 120E and a UTM zone serves data elsewhere.
METRIC_CRS_LON_SPAN = 3.0
_METRIC_CM = 120.0


def metric_crs_for(lon: ArrayLike, lat: ArrayLike) -> str:
    """The metric CRS for data at these WGS84 positions.

    EPSG:4549 (the project's metric CRS) when every longitude lies within
    :data:`METRIC_CRS_LON_SPAN` degrees of its central meridian (120E); otherwise the
    UTM zone (WGS84) of the data's centre, so a test extract from elsewhere (e.g.
    Helsinki) is never measured in a projection that stretches it by percent.

    Examples
    --------
    >>> metric_crs_for([120.5, 121.4], [31.0, 31.3])
    'EPSG:4549'
    >>> metric_crs_for([24.9, 25.0], [60.1, 60.2])
    'EPSG:32635'
    """
    lon = np.asarray(lon, dtype=float).ravel()
    lat = np.asarray(lat, dtype=float).ravel()
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return METRIC_CRS
    lon, lat = lon[ok], lat[ok]
    if float(np.max(np.abs(lon - _METRIC_CM))) <= METRIC_CRS_LON_SPAN:
        return METRIC_CRS
    c_lon = (float(lon.min()) + float(lon.max())) / 2.0
    c_lat = (float(lat.min()) + float(lat.max())) / 2.0
    zone = int(np.floor((c_lon + 180.0) / 6.0)) % 60 + 1
    return f"EPSG:{32600 + zone if c_lat >= 0 else 32700 + zone}"


def project_xy(lon: ArrayLike, lat: ArrayLike, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat arrays to x/y in metres of ``crs`` (see :func:`metric_crs_for`)."""
    x, y = _transformer(WGS84, crs).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def lonlat_to_metric(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat arrays to EPSG:4549 x/y in metres."""
    return _transformer(WGS84, METRIC_CRS).transform(np.asarray(lon, float), np.asarray(lat, float))


def metric_to_lonlat(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4549 x/y in metres to WGS84 lon/lat arrays."""
    return _transformer(METRIC_CRS, WGS84).transform(np.asarray(x, float), np.asarray(y, float))


def geodesic_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance in metres between paired points (WGS84 ellipsoid)."""
    from pyproj import Geod

    _, _, d = Geod(ellps="WGS84").inv(np.asarray(lon1, float), np.asarray(lat1, float),
                                     np.asarray(lon2, float), np.asarray(lat2, float))
    return np.asarray(d)
