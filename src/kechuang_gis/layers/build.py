"""`layers build`: every layer of the region in one GeoPackage, byte-for-byte reproducible."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd

from ..io import atomic_dir
from . import admin, gazetteer, structures, water

LAYER_NAMES = ("admin_city", "admin_county", "admin_context", "lakes", "rivers", "gazetteer", "structures")
#: GDAL stamps GeoPackage metadata with the current time unless told otherwise; a fixed
#: date makes the file depend on its inputs only.
FIXED_GPKG_DATE = "2000-01-01T00:00:00Z"


def load_layers() -> dict[str, gpd.GeoDataFrame]:
    """All layers as WGS84 GeoDataFrames, keyed by table name."""
    return {
        "admin_city": admin.admin_city(),
        "admin_county": admin.admin_county(),
        "admin_context": admin.admin_context(),
        "lakes": water.lakes(),
        "rivers": water.rivers(),
        "gazetteer": gazetteer.load_gazetteer(),
        "structures": structures.build_structures(),
    }


def write_layers(layers: dict[str, gpd.GeoDataFrame], out_dir: str | Path) -> Path:
    """Write ``out_dir/layers.gpkg`` atomically with one table per layer."""
    old = os.environ.get("OGR_CURRENT_DATE")
    os.environ["OGR_CURRENT_DATE"] = FIXED_GPKG_DATE
    try:
        with atomic_dir(out_dir) as tmp:
            path = tmp / "layers.gpkg"
            if path.exists():
                path.unlink()
            for name in LAYER_NAMES:
                gdf = layers[name].reset_index(drop=True)
                gdf.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    finally:
        if old is None:
            os.environ.pop("OGR_CURRENT_DATE", None)
        else:
            os.environ["OGR_CURRENT_DATE"] = old
    return Path(out_dir) / "layers.gpkg"
