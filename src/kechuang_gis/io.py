"""Reading user inputs and writing outputs atomically.

Every output is written to a temporary file (or folder) beside its destination and moved
into place with ``os.replace`` only when complete, so an interrupted or failed run never
leaves a half-written file where a good one was.

Every point input goes through :func:`read_points`: one place that knows the accepted
formats, the datum option, and the checks (missing columns, empty files, swapped lon/lat,
coordinates far from the region, duplicate ids, invalid geometries).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import crs as _crs
from .errors import DataWarning, InputError
from .settings import REGION_BBOX, WGS84

POINT_SUFFIXES = (".csv", ".geojson", ".json", ".gpkg", ".parquet", ".geoparquet")


# --- atomic writing ------------------------------------------------------------------

def _readable_by_others(path: Path, mode: int) -> None:
    """mkstemp/mkdtemp create private (0600/0700) entries; outputs get the usual umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name keeps the destination's suffix: drivers (GDAL) infer formats from it.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".partial{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    _readable_by_others(tmp_path, 0o666)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``path`` as a whole.

    Files already in ``path`` that the run does not rewrite are kept (copied in first),
    so writing one product into an existing output folder does not delete the others.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    _readable_by_others(tmp, 0o777)
    try:
        if path.is_dir():
            shutil.copytree(path, tmp, dirs_exist_ok=True)
        yield tmp
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_text(text: str, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(obj, path: str | os.PathLike) -> Path:
    """Deterministic JSON: sorted keys, UTF-8, trailing newline."""
    return write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n", path)


def write_csv(df: pd.DataFrame, path: str | os.PathLike, **kwargs) -> Path:
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, encoding="utf-8", lineterminator="\n", **kwargs)
    return Path(path)


def write_geoparquet(gdf: gpd.GeoDataFrame, path: str | os.PathLike) -> Path:
    _require_crs(gdf, path)
    with atomic_path(path) as tmp:
        gdf.to_parquet(tmp, index=False)
    return Path(path)


def write_geojson(gdf: gpd.GeoDataFrame, path: str | os.PathLike, precision: int = 6) -> Path:
    """GeoJSON in WGS84, rounded, keys in a fixed order: stable diffs in git."""
    _require_crs(gdf, path)
    gdf = gdf.to_crs(WGS84)
    features = []
    props_cols = [c for c in gdf.columns if c != gdf.geometry.name]
    geoms = shapely.set_precision(np.asarray(gdf.geometry.values), 10.0 ** -precision)
    for (_, row), geom in zip(gdf[props_cols].iterrows(), geoms, strict=True):
        props = {k: _json_value(row[k]) for k in props_cols}
        features.append({"type": "Feature", "properties": props,
                         "geometry": None if geom is None else shapely.geometry.mapping(geom)})
    doc = {"type": "FeatureCollection", "features": features}
    return write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", path)


def _json_value(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, list | tuple | np.ndarray):
        return [_json_value(x) for x in v]
    return v


def _require_crs(gdf: gpd.GeoDataFrame, path) -> None:
    if gdf.crs is None:
        raise InputError(f"refusing to write {path}: the data has no CRS")


def existing_input(path: str | os.PathLike) -> Path:
    """``path`` as a Path, or InputError if it does not exist or is empty."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    return path


def read_vector(path: str | os.PathLike, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read GeoJSON, GPKG or GeoParquet into a GeoDataFrame in WGS84."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            gdf = gpd.read_parquet(path)
        else:
            gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:  # the driver's own message, with our context
        raise InputError(f"{path}: cannot read as a vector file ({exc})") from exc
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    return gdf.to_crs(WGS84)


# --- point inputs --------------------------------------------------------------------

def read_points(
    path: str | os.PathLike,
    *,
    datum: str = "wgs84",
    id_col: str = "id",
    lon_col: str = "lon",
    lat_col: str = "lat",
    required: tuple[str, ...] = (),
    allow_missing_id: bool = False,
) -> gpd.GeoDataFrame:
    """Read points from CSV (id, lon, lat), GeoJSON, GPKG or GeoParquet; return WGS84.

    ``datum`` declares the datum of the input coordinates (wgs84, gcj02, bd09); GCJ-02
    and BD-09 are converted here, at the edge. Raises InputError naming the file and the
    rows at fault; warns (DataWarning, counted) for points far from the study region.
    """
    path = existing_input(path)
    datum = _crs.normalise_datum(datum)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        gdf = _points_from_csv(path, lon_col, lat_col)
    elif suffix in POINT_SUFFIXES:
        gdf = read_vector(path)
        if datum != "wgs84":
            gdf = _crs.to_wgs84_datum(gdf.to_crs(WGS84), datum)
            datum = "wgs84"
    else:
        raise InputError(f"{path}: unsupported format {suffix!r}; use one of {', '.join(POINT_SUFFIXES)}")
    if len(gdf) == 0:
        raise InputError(f"{path}: no rows")
    gdf = _ensure_points(gdf, path, id_col)
    if datum != "wgs84":
        gdf = _crs.to_wgs84_datum(gdf, datum)
    if id_col not in gdf.columns:
        if not allow_missing_id:
            raise InputError(f"{path}: missing column {id_col!r} (columns: {', '.join(map(str, gdf.columns))})")
        gdf[id_col] = [str(i) for i in range(len(gdf))]
    missing = [c for c in required if c not in gdf.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (columns: {', '.join(map(str, gdf.columns))})")
    gdf[id_col] = gdf[id_col].astype(str)
    dup = gdf[id_col][gdf[id_col].duplicated()].unique().tolist()
    if dup:
        raise InputError(f"{path}: duplicate {id_col} values: {', '.join(dup[:10])}")
    warn_outside_region(gdf, path, id_col)
    return gdf.reset_index(drop=True)


def _points_from_csv(path: Path, lon_col: str, lat_col: str) -> gpd.GeoDataFrame:
    try:
        df = pd.read_csv(path, dtype={"id": str, "adcode": str}, encoding="utf-8-sig")
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path}: the file is empty") from exc
    except Exception as exc:
        raise InputError(f"{path}: cannot parse as CSV ({exc})") from exc
    missing = [c for c in (lon_col, lat_col) if c not in df.columns]
    if missing:
        raise InputError(
            f"{path}: missing coordinate column(s) {', '.join(missing)} "
            f"(columns: {', '.join(map(str, df.columns))}); name them with --lon-col/--lat-col")
    lon = pd.to_numeric(df[lon_col], errors="coerce")
    lat = pd.to_numeric(df[lat_col], errors="coerce")
    bad = df.index[lon.isna() | lat.isna()].tolist()
    if bad:
        rows = ", ".join(str(i + 2) for i in bad[:10])  # +2: header line, 1-based
        raise InputError(f"{path}: {len(bad)} row(s) without numeric {lon_col}/{lat_col} (lines {rows})")
    lon, lat = fix_swapped_lonlat(lon.to_numpy(), lat.to_numpy(), path)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)


def _in_region(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = REGION_BBOX
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def fix_swapped_lonlat(lon: np.ndarray, lat: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Detect a file whose lon and lat columns are swapped, from the study region.

    The region spans lon 117.5-122.5, lat 29.5-32.8: no value can be both, so a
    majority of rows that fit only when swapped is unambiguous. Mixed files are an error.
    """
    direct = _in_region(lon, lat)
    swapped = _in_region(lat, lon)
    if swapped.sum() > direct.sum():
        if direct.any():
            rows = ", ".join(str(i + 2) for i in np.flatnonzero(direct)[:10])
            raise InputError(f"{path}: most rows have lon/lat swapped but some do not (lines {rows}); fix the file")
        warnings.warn(f"{path}: lon and lat columns are swapped in all {len(lon)} rows; "
                      "swapped them back", DataWarning, stacklevel=3)
        return lat, lon
    if (np.abs(lat) > 90).any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(np.abs(lat) > 90)[:10])
        raise InputError(f"{path}: latitude outside -90..90 (lines {rows})")
    return lon, lat


def _ensure_points(gdf: gpd.GeoDataFrame, path: Path, id_col: str) -> gpd.GeoDataFrame:
    geom = gdf.geometry
    ids = gdf[id_col].astype(str) if id_col in gdf.columns else pd.Series(gdf.index.astype(str))
    empty = geom.isna() | geom.is_empty
    if empty.any():
        raise InputError(f"{path}: {int(empty.sum())} feature(s) without geometry: {', '.join(ids[empty].tolist()[:10])}")
    if not (geom.geom_type == "Point").all():
        invalid = ~geom.is_valid
        if invalid.any():
            warnings.warn(f"{path}: repaired {int(invalid.sum())} invalid geometries "
                          f"({', '.join(ids[invalid].tolist()[:10])})", DataWarning, stacklevel=3)
            gdf = gdf.set_geometry(shapely.make_valid(np.asarray(geom.values)))
        # Areas and lines stand for their representative point (inside the shape).
        gdf = gdf.set_geometry(gdf.geometry.representative_point())
    return gdf


def warn_outside_region(gdf: gpd.GeoDataFrame, path, id_col: str = "id") -> int:
    """Warn (counted) about points outside the study region's bounding box."""
    x = gdf.geometry.x.to_numpy()
    y = gdf.geometry.y.to_numpy()
    outside = ~_in_region(x, y)
    n = int(outside.sum())
    if n:
        ids = gdf.loc[outside, id_col].astype(str).tolist() if id_col in gdf.columns else []
        warnings.warn(f"{path}: {n} point(s) far outside the Taihu study region: {', '.join(ids[:10])}",
                      DataWarning, stacklevel=3)
    return n


def file_sha256(path: str | os.PathLike) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
