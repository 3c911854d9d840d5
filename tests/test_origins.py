"""Origins: grid and H3 cells over study land (lakes excluded), and file points with datums."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely

from kechuang_gis.analysis.origins import grid_origins, hex_origins, load_destinations, load_origins
from kechuang_gis.crs import lonlat_to_metric, wgs84_to_gcj02
from kechuang_gis.errors import InputError
from kechuang_gis.layers.water import lakes

# A multiple of 1 km in EPSG:4549, in Suzhou.
X, Y = 557_000.0, 3_464_000.0


def _m(*boxes) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.box(*b) for b in boxes], crs="EPSG:4549")


def _routing_xy(gdf):
    x, y = lonlat_to_metric(gdf["lon"].to_numpy(), gdf["lat"].to_numpy())
    return np.asarray(x), np.asarray(y)


def test_grid_count_area_and_lakes_by_hand():
    """Area 10 km x 6 km offset by (250, 500) m from the 1 km grid: touches 11 x 7 = 77 cells.

    Lake A covers 4 whole cells exactly (they disappear: 73 cells); lake B covers
    0.6 km2 of one cell including its centre (the cell stays, routed from its land part).
    Land area = 60 - 4 - 0.6 = 55.4 km2.
    """
    area = _m((X + 250, Y + 500, X + 10250, Y + 6500))
    lake = _m((X + 3000, Y + 2000, X + 5000, Y + 4000), (X + 7000, Y + 2000, X + 7600, Y + 3000))
    g = grid_origins(1000, area=area, lakes=lake)
    assert len(g) == 73
    assert g["area_m2"].sum() == pytest.approx(55.4e6, rel=1e-9)
    assert g["id"].is_unique
    x, y = _routing_xy(g)
    lake_u = shapely.union_all(lake.values)
    assert not shapely.contains_xy(lake_u, x, y).any()
    assert shapely.contains_xy(area.iloc[0], x, y).all()
    # The cell around (7500, 2500) keeps 0.4 km2 and is routed from outside the lake.
    cell = g[np.isclose(g["area_m2"], 0.4e6)]
    assert len(cell) == 1
    # Interior cells are whole squares routed from their centres.
    full = g[np.isclose(g["area_m2"], 1e6)]
    fx, fy = _routing_xy(full)
    assert np.allclose((fx - X) % 1000, 500, atol=1e-6) and np.allclose((fy - Y) % 1000, 500, atol=1e-6)


def test_grid_over_study_area_matches_land_area():
    g = grid_origins(5000)
    study = gpd.GeoSeries([__import__("kechuang_gis.layers.admin", fromlist=["x"]).study_area()],
                          crs="EPSG:4326").to_crs("EPSG:4549").iloc[0]
    water = shapely.union_all(lakes().to_crs("EPSG:4549").geometry.values)
    land_area = shapely.difference(study, water).area
    assert g["area_m2"].sum() == pytest.approx(land_area, rel=1e-6)
    x, y = _routing_xy(g)
    assert not shapely.contains_xy(water, x, y).any()
    # Every cell touching land is there: count equals the cells intersecting land.
    assert len(g) > 0.9 * land_area / 25e6


def test_hex_clipped_to_land():
    area = _m((X, Y, X + 20000, Y + 15000))
    lake = _m((X + 5000, Y + 5000, X + 12000, Y + 10000))
    h = hex_origins(7, area=area, lakes=lake)
    assert all(h3.is_valid_cell(c) and h3.get_resolution(c) == 7 for c in h["id"])
    assert h["area_m2"].sum() == pytest.approx(300e6 - 35e6, rel=1e-6)
    x, y = _routing_xy(h)
    assert not shapely.contains_xy(lake.iloc[0], x, y).any()
    metric = h.geometry.to_crs("EPSG:4549")
    land = shapely.difference(area.iloc[0], lake.iloc[0])
    assert metric.within(land.buffer(1e-3)).all()
    # Cells wholly inside keep their own H3 area (geodesic vs projected: within 0.5 %).
    big = h.loc[h["area_m2"].idxmax()]
    assert big["area_m2"] == pytest.approx(h3.cell_area(big["id"], unit="m^2"), rel=5e-3)


def test_file_origins_gcj02(tmp_path):
    lon = np.array([120.62, 120.31, 119.95])
    lat = np.array([31.32, 31.49, 31.77])
    glon, glat = wgs84_to_gcj02(lon, lat)
    f = tmp_path / "o.csv"
    f.write_text("id,lon,lat\n" + "".join(f"o{i},{a:.10f},{b:.10f}\n" for i, (a, b) in enumerate(zip(glon, glat, strict=True))))
    o = load_origins(str(f), datum="gcj02")
    assert o["id"].tolist() == ["o0", "o1", "o2"]
    assert np.allclose(o["lon"], lon, atol=1e-7) and np.allclose(o["lat"], lat, atol=1e-7)
    # The GCJ-02 shift is several hundred metres here: reading as WGS84 would be wrong.
    w = load_origins(str(f))
    assert np.abs(w["lon"].to_numpy() - lon).max() > 1e-3


def test_bad_specs(tmp_path):
    with pytest.raises(InputError, match="hex:RES"):
        load_origins("hexagons")
    with pytest.raises(InputError, match="at least"):
        load_origins("grid:1")
    with pytest.raises(InputError, match="resolution"):
        load_origins("hex:20")


def test_destinations_from_gazetteer_kinds():
    parks = load_destinations("parks")
    hubs = load_destinations("hubs")
    assert len(parks) > 0 and len(hubs) > 0
    assert set(hubs["kind"]) == {"hub"}
    assert "hub" not in set(parks["kind"])
    assert (parks["mass"] == 1.0).all() and (parks.geometry.geom_type == "Point").all()
