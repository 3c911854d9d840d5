"""Rebuild the committed lake, river and gazetteer layers from their sources.

    python scripts/build_layers_data.py

Inputs: the Natural Earth lakes cut of the region (shared/geodata, public domain),
geodata/sources/waypoints.csv and geodata/sources/gazetteer.csv (authored, sourced row by
row), seeds/*.yaml (digest links). Outputs: geodata/lakes.geojson, geodata/rivers.geojson,
geodata/gazetteer.geojson (WGS84). No network access; deterministic.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import geopandas as gpd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kechuang_gis.io import write_geojson  # noqa: E402
from kechuang_gis.layers import gazetteer, water  # noqa: E402
from kechuang_gis.settings import GEODATA_DIR, METRIC_CRS, WGS84  # noqa: E402

NATURAL_EARTH_LAKES = REPO.parent / "shared" / "geodata" / "lakes_natural_earth_10m.geojson"


def build_lakes() -> None:
    if not NATURAL_EARTH_LAKES.exists():
        print(f"skip lakes: {NATURAL_EARTH_LAKES} not found (committed copy kept)")
        return
    lakes = gpd.read_file(NATURAL_EARTH_LAKES).to_crs(WGS84)
    lakes["source"] = "Natural Earth 1:10m lakes (public domain)"
    lakes["area_km2"] = (lakes.to_crs(METRIC_CRS).area / 1e6).round(1)
    lakes = lakes[["name_zh", "name_en", "area_km2", "precision_m", "source", "geometry"]]
    write_geojson(lakes, GEODATA_DIR / "lakes.geojson", precision=5)
    print(f"lakes: {len(lakes)}")


def build_rivers() -> None:
    rivers = water.line_features(water.RIVER_NAMES)
    write_geojson(rivers, GEODATA_DIR / "rivers.geojson", precision=5)
    print(f"rivers: {len(rivers)} ({', '.join(rivers['id'])})")


def build_gazetteer() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gaz = gazetteer.build_from_sources()
    for w in caught:
        print(f"warning: {w.message}")
    write_geojson(gaz, GEODATA_DIR / "gazetteer.geojson", precision=6)
    located = gaz.geometry.notna().sum()
    print(f"gazetteer: {len(gaz)} places, {located} located, {len(gaz) - located} unlocated")


if __name__ == "__main__":
    build_lakes()
    if (GEODATA_DIR / "sources" / "waypoints.csv").exists():
        build_rivers()
    build_gazetteer()
