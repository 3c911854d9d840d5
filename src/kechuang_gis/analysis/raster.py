"""GeoTIFF surfaces of accessibility results, and population rasters read onto origins.

Surfaces are written in EPSG:4549 (the metric CRS), float32, with NaN declared as
nodata (unreachable cells and water stay nodata, never 0), deflate-compressed, tiled,
with internal overviews, so they open directly in QGIS.

Population rasters may be in any CRS. They are read as *counts per pixel* (WorldPop,
GHS-POP, LandScan convention): a cell origin receives the sum of the pixels whose
centres fall in it; a cell smaller than a pixel, or a point origin, receives the pixel
value at its point scaled by the area ratio (cells) or as is (points).
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.transform
import rasterio.warp
import rasterio.windows
import shapely
from rasterio.enums import Resampling

from ..errors import InputError, warn_count
from ..settings import METRIC_CRS, WGS84

#: Overview factors built into every surface.
OVERVIEW_LEVELS = (2, 4, 8, 16, 32)
#: Surfaces larger than this many pixels are refused (a resolution typo guard).
MAX_PIXELS = 200_000_000


def surface_grid(cells_m: gpd.GeoSeries, cell_size_m: float) -> tuple[rasterio.Affine, int, int]:
    """Transform and shape of a raster aligned to multiples of ``cell_size_m`` over the cells."""
    x0, y0, x1, y1 = cells_m.total_bounds
    s = float(cell_size_m)
    ix0, iy0 = math.floor(x0 / s), math.floor(y0 / s)
    ix1, iy1 = math.ceil(x1 / s), math.ceil(y1 / s)
    width, height = max(ix1 - ix0, 1), max(iy1 - iy0, 1)
    if width * height > MAX_PIXELS:
        raise InputError(f"surface of {width}x{height} pixels is too large; use coarser cells")
    return rasterio.transform.from_origin(ix0 * s, iy1 * s, s, s), width, height


def rasterize_cells(cells: gpd.GeoDataFrame, values: np.ndarray, cell_size_m: float
                    ) -> tuple[np.ndarray, rasterio.Affine]:
    """Burn one value per cell polygon into a float32 EPSG:4549 array (NaN elsewhere).

    A pixel takes the value of the cell containing its centre; pixels whose centre is
    in a lake or outside the study land stay NaN.
    """
    metric = cells.geometry.to_crs(METRIC_CRS)
    transform, width, height = surface_grid(metric, cell_size_m)
    # Burn cell indices, not values: NaN values would be indistinguishable from fill.
    index = rasterio.features.rasterize(
        ((g, i) for i, g in enumerate(metric.values) if g is not None and not g.is_empty),
        out_shape=(height, width), transform=transform, fill=-1, dtype="int32")
    vals = np.asarray(values, dtype=np.float64)
    out = np.full(index.shape, np.nan, dtype=np.float32)
    hit = index >= 0
    out[hit] = vals[index[hit]]
    return out, transform


def write_geotiff(path: str | Path, array: np.ndarray, transform: rasterio.Affine, *,
                  crs: str = METRIC_CRS, description: str | None = None) -> Path:
    """Write a single-band float32 GeoTIFF with NaN nodata, deflate, tiles and overviews.

    The caller supplies the final path inside an atomic output folder; the file is
    complete before the folder is moved into place.
    """
    path = Path(path)
    h, w = array.shape
    profile = {
        "driver": "GTiff", "height": h, "width": w, "count": 1, "dtype": "float32",
        "crs": crs, "transform": transform, "nodata": float("nan"),
        "compress": "deflate", "predictor": 3, "zlevel": 6,
    }
    if h >= 256 and w >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array.astype(np.float32), 1)
        if description:
            dst.set_band_description(1, description)
        levels = [f for f in OVERVIEW_LEVELS if min(h, w) // f >= 1]
        if levels:
            dst.build_overviews(levels, Resampling.average)
            dst.update_tags(ns="rio_overview", resampling="average")
    return path


# --- population ----------------------------------------------------------------------

def population_at(origins: gpd.GeoDataFrame, raster_path: str | Path) -> np.ndarray:
    """Population of each origin from a count raster in any CRS (NaN where not covered).

    Raises InputError when the raster does not overlap the origins at all; origins
    outside the raster are a counted DataWarning.
    """
    path = Path(raster_path)
    if not path.exists():
        raise InputError(f"{path}: no such population raster")
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: cannot read as a raster ({exc})") from exc
    with src:
        if src.crs is None:
            raise InputError(f"{path}: the raster has no CRS; set one (e.g. gdal_edit.py -a_srs EPSG:4326)")
        pts = gpd.GeoSeries(gpd.points_from_xy(origins["lon"], origins["lat"]), crs=WGS84).to_crs(src.crs)
        geoms = origins.geometry.to_crs(src.crs)
        ox0, oy0, ox1, oy1 = geoms.total_bounds
        left, bottom, right, top = src.bounds
        if ox0 > right or ox1 < left or oy0 > top or oy1 < bottom:
            lo, la, hi, ha = rasterio.warp.transform_bounds(src.crs, WGS84, *src.bounds)
            raise InputError(f"{path}: the population raster (lon {lo:.3f}..{hi:.3f}, lat {la:.3f}..{ha:.3f}) "
                             "does not overlap the origins")
        # The pixel window over the origins, one pixel of margin, clipped to the raster.
        rows, cols = rasterio.transform.rowcol(src.transform, [ox0, ox1, ox0, ox1], [oy0, oy0, oy1, oy1])
        r0, r1 = max(min(rows) - 1, 0), min(max(rows) + 2, src.height)
        c0, c1 = max(min(cols) - 1, 0), min(max(cols) + 2, src.width)
        window = rasterio.windows.Window(c0, r0, max(c1 - c0, 1), max(r1 - r0, 1))
        data = src.read(1, window=window, masked=True).astype(np.float64).filled(np.nan)
        wt = src.window_transform(window)
        pix_area = _pixel_area_m2(src, wt, data.shape)
        is_cell = ~(origins.geometry.geom_type == "Point").to_numpy()
        pop = np.full(len(origins), np.nan)
        if is_cell.any():
            pop[is_cell] = _zonal_sums(geoms[is_cell], data, wt)
        # Points, and cells no pixel centre fell into: the pixel under the point.
        need = np.isnan(pop)
        if need.any():
            rows, cols = rasterio.transform.rowcol(wt, pts.x.to_numpy()[need], pts.y.to_numpy()[need])
            rows, cols = np.asarray(rows), np.asarray(cols)
            ok = (rows >= 0) & (rows < data.shape[0]) & (cols >= 0) & (cols < data.shape[1])
            sampled = np.full(need.sum(), np.nan)
            sampled[ok] = data[rows[ok], cols[ok]]
            scale = np.ones(need.sum())
            if "area_m2" in origins.columns:
                cell_area = origins["area_m2"].to_numpy(float)[need]
                scale = np.where(is_cell[need] & np.isfinite(cell_area), cell_area / pix_area, 1.0)
            pop[need] = sampled * scale
    missing = np.isnan(pop)
    warn_count("origin(s) outside the population raster or on its nodata (population unknown)",
               int(missing.sum()), origins.loc[missing, "id"].astype(str).tolist())
    return pop


def _zonal_sums(geoms: gpd.GeoSeries, data: np.ndarray, transform) -> np.ndarray:
    index = rasterio.features.rasterize(
        ((g, i) for i, g in enumerate(geoms.values) if g is not None and not g.is_empty),
        out_shape=data.shape, transform=transform, fill=-1, dtype="int32")
    sel = index >= 0
    vals = data[sel]
    ids = index[sel]
    finite = np.isfinite(vals)
    sums = np.bincount(ids[finite], weights=vals[finite], minlength=len(geoms))
    counts = np.bincount(ids, minlength=len(geoms))
    out = sums.astype(float)
    out[counts == 0] = np.nan  # no pixel centre inside: sampled by the caller
    return out


def _pixel_area_m2(src, transform, shape) -> float:
    """Area in m2 of a pixel at the centre of the window (handles geographic rasters)."""
    r, c = shape[0] // 2, shape[1] // 2
    x0, y0 = transform @ (c, r)
    x1, y1 = transform @ (c + 1, r + 1)
    box = gpd.GeoSeries([shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))], crs=src.crs)
    return float(box.to_crs(METRIC_CRS).area.iloc[0])
