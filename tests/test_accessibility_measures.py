"""Hand-worked cases for every accessibility measure on a 5-node street.

The network: nodes n0..n4 on a straight east-west street, 1,000 m apart, 60 s per link
both ways (60 km/h). Destinations D1 at n0 (mass 2) and D2 at n3 (mass 1). Origins
sit exactly on nodes: O1 at n0, O2 at n1, O3 at n4, so their access legs are 0 s (a
neighbouring node costs 1000 m x 1.3 / 30 km/h = 156 s, always worse than the link).

Travel times (minutes), origins to destinations:

        D1  D2
    O1   0   3
    O2   1   2
    O3   4   1
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from accessibility_helpers import X0, Y0, network_from_xy, points_frame
from rasterio.transform import from_origin

from kechuang_gis.analysis.accessibility import accessibility, decay, two_step_fca
from kechuang_gis.crs import metric_to_lonlat
from kechuang_gis.network.model import default_access_model

T = np.array([[0.0, 3.0], [1.0, 2.0], [4.0, 1.0]])
MASS = np.array([2.0, 1.0])
AREA = gpd.GeoSeries([shapely.box(X0 - 5000, Y0 - 5000, X0 + 9000, Y0 + 5000)], crs="EPSG:4549")
NO_LAKES = gpd.GeoSeries([], crs="EPSG:4326")


@pytest.fixture(scope="module")
def street():
    xy = np.array([(X0 + 1000.0 * i, Y0) for i in range(5)])
    edges = [(i, i + 1, 60.0) for i in range(4)] + [(i + 1, i, 60.0) for i in range(4)]
    return network_from_xy(xy, edges, access=default_access_model(max_snap_m=800.0))


@pytest.fixture(scope="module")
def od_points():
    origins = points_frame([(X0, Y0), (X0 + 1000, Y0), (X0 + 4000, Y0)], ids=["O1", "O2", "O3"])
    dests = points_frame([(X0, Y0), (X0 + 3000, Y0)], ids=["D1", "D2"], mass=[2.0, 1.0])
    return origins, dests


def run(street, od_points, metrics, **kw):
    origins, dests = od_points
    kw.setdefault("mass_col", "mass")
    return accessibility(street, origins, dests, metrics, area=AREA, lakes=NO_LAKES, **kw)


def test_nearest(street, od_points):
    r = run(street, od_points, "nearest")
    assert r.origins["nearest_time_min"].tolist() == pytest.approx([0.0, 1.0, 1.0])
    assert r.origins["nearest_id"].tolist() == ["D1", "D1", "D2"]


def test_od_long_format(street, od_points):
    r = run(street, od_points, "od")
    assert list(r.od.columns) == ["origin_id", "dest_id", "time_min"]
    assert r.od["origin_id"].tolist() == ["O1", "O1", "O2", "O2", "O3", "O3"]
    assert r.od["dest_id"].tolist() == ["D1", "D2"] * 3
    assert r.od["time_min"].to_numpy() == pytest.approx(T.ravel())


def test_cumulative_counts_and_mass(street, od_points):
    # Within 1 min: O1 {D1}, O2 {D1}, O3 {D2}. Within 3 min: O1 {D1, D2}, O2 {D1, D2}, O3 {D2}.
    r = run(street, od_points, "cumulative:1,3")
    assert r.origins["cum_1"].tolist() == pytest.approx([2.0, 2.0, 1.0])  # summed mass
    assert r.origins["cum_3"].tolist() == pytest.approx([3.0, 3.0, 1.0])
    r = run(street, od_points, "cumulative:1,3", mass_col=None)
    assert r.origins["cum_1"].tolist() == pytest.approx([1.0, 1.0, 1.0])  # counts
    assert r.origins["cum_3"].tolist() == pytest.approx([2.0, 2.0, 1.0])


@pytest.mark.parametrize("kind,beta,expected", [
    # exp, beta 0.5: sum_j M_j exp(-0.5 t)
    ("exp", 0.5, [2 + math.exp(-1.5), 2 * math.exp(-0.5) + math.exp(-1.0), 2 * math.exp(-2.0) + math.exp(-0.5)]),
    # power, beta 2: t below 1 min counts as 1 -> O1: 2*1 + 1/9
    ("power", 2.0, [2 + 1 / 9, 2 + 1 / 4, 2 / 16 + 1]),
    # gaussian, beta 0.5: exp(-(0.5 t)^2 / 2)
    ("gaussian", 0.5, [2 + math.exp(-1.125), 2 * math.exp(-0.125) + math.exp(-0.5),
                       2 * math.exp(-2.0) + math.exp(-0.125)]),
])
def test_gravity_each_decay(street, od_points, kind, beta, expected):
    r = run(street, od_points, "gravity", decay=kind, beta=beta)
    assert r.origins["gravity"].tolist() == pytest.approx(expected, rel=1e-9)


def test_decay_is_zero_when_unreachable():
    assert decay(np.array([np.nan, np.inf]), "exp", 0.1).tolist() == [0.0, 0.0]


def _population_raster(path, lonlat, values):
    """A 3-pixel EPSG:4326 raster with one pixel under each origin (other CRS on purpose)."""
    lon = np.array([p[0] for p in lonlat])
    lat = lonlat[0][1]
    res = 0.002
    west = lon.min() - res / 2
    width = int(round((lon.max() - lon.min()) / res)) + 1
    arr = np.zeros((1, width), dtype="float32")
    for (lo, _), v in zip(lonlat, values, strict=True):
        arr[0, int((lo - west) // res)] = v
    with rasterio.open(path, "w", driver="GTiff", height=1, width=width, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(west, lat + res / 2, res, res)) as dst:
        dst.write(arr, 1)
    return path


def test_2sfca_3x2(street, od_points, tmp_path):
    """Catchment 2 min, populations O1 100, O2 200, O3 300; supply = mass (2, 1).

    Within 2 min: O1->D1 (0), O2->D1 (1), O2->D2 (2), O3->D2 (1); not O1->D2 (3), O3->D1 (4).
    Step 1: D1 demand 100 + 200 = 300 -> R1 = 2/300; D2 demand 200 + 300 = 500 -> R2 = 1/500.
    Step 2: A(O1) = R1 = 0.006667, A(O2) = R1 + R2 = 0.008667, A(O3) = R2 = 0.002.
    """
    lon, lat = metric_to_lonlat(np.array([X0, X0 + 1000, X0 + 4000]), np.array([Y0] * 3))
    pop = _population_raster(tmp_path / "pop.tif", list(zip(lon, lat, strict=True)), [100, 200, 300])
    r = run(street, od_points, "2sfca", catchment_min=2.0, population=pop)
    assert r.origins["population"].tolist() == pytest.approx([100, 200, 300])
    assert r.origins["2sfca"].tolist() == pytest.approx([2 / 300, 2 / 300 + 1 / 500, 1 / 500], rel=1e-9)
    assert r.destinations["supply_demand_ratio"].tolist() == pytest.approx([2 / 300, 1 / 500])
    # Uniform demand (no raster): D1 demand 2 -> 1.0, D2 demand 2 -> 0.5.
    r = run(street, od_points, "2sfca", catchment_min=2.0)
    assert r.origins["2sfca"].tolist() == pytest.approx([1.0, 1.5, 0.5])


def test_two_step_fca_kernel_no_demand():
    a, ratio = two_step_fca(np.array([[1.0, np.nan]]), np.array([1.0, 1.0]), np.array([0.0]), 5.0)
    assert np.isnan(ratio).all() and a.tolist() == [0.0]


def test_unsnapped_origin_is_nan_everywhere(street, od_points):
    origins, dests = od_points
    far = points_frame([(X0 + 2000, Y0 + 3000)], ids=["far"])  # 3 km from the street
    o = gpd.GeoDataFrame(list(origins.to_dict("records")) + list(far.to_dict("records")), crs="EPSG:4326")
    with pytest.warns(Warning, match="1 origin"):
        r = accessibility(street, o, dests, "nearest,cumulative:5,gravity,od", mass_col="mass",
                          area=AREA, lakes=NO_LAKES)
    row = r.origins.set_index("id").loc["far"]
    assert np.isnan(row["nearest_time_min"]) and np.isnan(row["cum_5"]) and np.isnan(row["gravity"])
    assert r.od.set_index("origin_id").loc["far", "time_min"].isna().all()
    assert r.counts["unsnapped_origins"] == 1


def test_limit_makes_far_pairs_unreachable(street, od_points):
    r = run(street, od_points, "od,nearest", limit_min=2.5)
    t = r.od["time_min"].to_numpy()
    exp = T.ravel().copy()
    exp[exp > 2.5] = np.nan
    assert np.array_equal(np.isnan(t), np.isnan(exp))
    assert t[~np.isnan(t)] == pytest.approx(exp[~np.isnan(exp)])
    assert r.counts["od_unreachable_pairs"] == 2


def test_isochrones_contain_and_exclude(street, od_points):
    """D2 at n3 (x = 3000 m), T = 1.5 min = 90 s; access 30 km/h, detour 1.3.

    n3: t = 0, remaining 90 s -> r = 90 x 8.333 / 1.3 = 577 m (also D2's own disc).
    n2 and n4: t = 60 s, remaining 30 s -> r = 192 m. n1: t = 120 s > 90 s, not reached.
    """
    r = run(street, od_points, "isochrones", isochrone_minutes=(1.5,))
    iso = r.isochrones.set_index("dest_id").loc["D2"]
    poly = gpd.GeoSeries([iso.geometry], crs="EPSG:4326").to_crs("EPSG:4549").iloc[0]
    inside = [(X0 + 3500, Y0), (X0 + 3000, Y0 + 550), (X0 + 2150, Y0), (X0 + 4180, Y0)]
    outside = [(X0 + 1750, Y0), (X0 + 3000, Y0 + 620), (X0 + 4250, Y0), (X0 + 1000, Y0)]
    assert all(poly.contains(shapely.Point(p)) for p in inside)
    assert not any(poly.contains(shapely.Point(p)) for p in outside)
    assert iso["minutes"] == 1.5 and iso["reached_nodes"] == 3
