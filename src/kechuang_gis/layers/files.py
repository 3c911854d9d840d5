"""Reading the committed layer files of geodata/ (one cached reader for every layer)."""

from __future__ import annotations

from functools import cache

import geopandas as gpd

from ..errors import InputError
from ..settings import GEODATA_DIR, WGS84

#: How to rebuild each committed file (for the error message when one is missing).
REBUILD = {
    "admin_city": "`make data` (scripts/build_admin.py)",
    "admin_county": "`make data` (scripts/build_admin.py)",
    "admin_context": "`make data` (scripts/build_admin.py)",
    "land_context": "`make data` (scripts/build_admin.py)",
}
#: Code columns kept as text (adcodes have leading digits that matter).
TEXT_COLUMNS = ("adcode", "city_adcode")


@cache
def _read(name: str) -> gpd.GeoDataFrame:
    path = GEODATA_DIR / f"{name}.geojson"
    if not path.exists():
        how = REBUILD.get(name, "scripts/build_layers_data.py")
        raise InputError(f"{path} is missing; rebuild it with {how}")
    gdf = gpd.read_file(path)
    for col in TEXT_COLUMNS:
        if col in gdf.columns:
            gdf[col] = gdf[col].astype("string").astype(object).where(gdf[col].notna(), None)
    return gdf.set_crs(WGS84, allow_override=True)


def committed_layer(name: str, copy: bool = True) -> gpd.GeoDataFrame:
    """``geodata/<name>.geojson`` as a WGS84 GeoDataFrame, read once per process.

    Callers get a copy they may change; ``copy=False`` is for read-only use inside the
    package (e.g. point-in-polygon lookups done many times).
    """
    return _read(name).copy() if copy else _read(name)
