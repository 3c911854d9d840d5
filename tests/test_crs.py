"""Datum conversions: round trips, the out-of-China rule, magnitudes, CRS policy."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from kechuang_gis import crs
from kechuang_gis.errors import InputError

# Points across mainland China (lon, lat), from Heilongjiang to Hainan and Xinjiang.
MAINLAND = st.tuples(st.floats(75.0, 134.0), st.floats(18.5, 53.0))


def geodesic_m(lon1, lat1, lon2, lat2):
    from pyproj import Geod

    return Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2]


@settings(max_examples=300, deadline=None)
@given(MAINLAND)
def test_gcj02_round_trip_below_half_metre(pt):
    lon, lat = pt
    if not crs.in_mainland_china(lon, lat):
        return  # the strategy's rectangle includes sea and neighbours
    g = crs.wgs84_to_gcj02(lon, lat)
    w = crs.gcj02_to_wgs84(*g)
    assert geodesic_m(lon, lat, float(w[0]), float(w[1])) < 0.5


@settings(max_examples=300, deadline=None)
@given(MAINLAND)
def test_bd09_round_trip_below_half_metre(pt):
    lon, lat = pt
    if not crs.in_mainland_china(lon, lat):
        return
    b = crs.wgs84_to_bd09(lon, lat)
    w = crs.bd09_to_wgs84(*b)
    assert geodesic_m(lon, lat, float(w[0]), float(w[1])) < 0.5
    g = crs.gcj02_to_bd09(*crs.wgs84_to_gcj02(lon, lat))
    assert geodesic_m(float(b[0]), float(b[1]), float(g[0]), float(g[1])) < 0.01


OUTSIDE = [
    (121.56, 25.03),   # Taipei
    (114.17, 22.30),   # Hong Kong, Kowloon
    (113.54, 22.19),   # Macau
    (139.69, 35.69),   # Tokyo
    (126.98, 37.57),   # Seoul
    (2.35, 48.86),     # Paris
    (123.5, 30.5),     # East China Sea, east of Zhoushan
    (107.97, 21.52),   # Mong Cai, Vietnam, across the border from Dongxing
    (124.40, 40.10),   # Sinuiju, North Korea, across the Yalu from Dandong
    (98.70, 23.90),    # Myanmar, a few km from the Yunnan border
]


@pytest.mark.parametrize("lon,lat", OUTSIDE)
def test_points_outside_mainland_unchanged(lon, lat):
    for src, dst in [("wgs84", "gcj02"), ("gcj02", "wgs84"), ("wgs84", "bd09"), ("bd09", "wgs84")]:
        x, y = crs.convert_xy([lon], [lat], src, dst)
        assert (float(x[0]), float(y[0])) == (lon, lat)


@settings(max_examples=100, deadline=None)
@given(st.floats(-180, 180), st.floats(-89, 89))
def test_outside_mask_identity_everywhere(lon, lat):
    if crs.in_mainland_china(lon, lat):
        return
    x, y = crs.wgs84_to_gcj02(lon, lat)
    assert float(x) == lon and float(y) == lat


def test_shift_magnitude_in_the_taihu_region():
    # The region's GCJ-02 offset is a few hundred metres (300-700 m is the range that
    # planners see when mixing datums around Taihu).
    lon = np.array([120.62, 120.30, 119.95, 120.09, 120.75, 118.76, 121.25])
    lat = np.array([31.30, 31.57, 31.78, 30.89, 30.75, 30.94, 31.37])
    g = crs.wgs84_to_gcj02(lon, lat)
    shift = geodesic_m(lon, lat, g[0], g[1])
    assert np.all((shift > 300) & (shift < 700)), shift


def test_geometry_and_geodataframe_conversion_keeps_shape():
    poly = shapely.Polygon([(120.6, 31.3), (120.7, 31.3), (120.7, 31.4), (120.6, 31.3)])
    gdf = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[poly, shapely.Point(120.62, 31.31)], crs=4326)
    out = crs.convert(gdf, "wgs84", "gcj02")
    assert list(out["name"]) == ["a", "b"] and out.crs.to_epsg() == 4326
    ex, ey = crs.wgs84_to_gcj02([120.62], [31.31])
    assert out.geometry.iloc[1].x == pytest.approx(ex[0], abs=1e-12)
    back = crs.convert(out, "gcj02", "wgs84")
    assert back.geometry.iloc[0].equals_exact(poly, tolerance=1e-8)
    single = crs.convert(shapely.Point(120.62, 31.31), "wgs84", "bd09")
    assert isinstance(single, shapely.Point)


def test_datum_names_and_refusals():
    assert crs.normalise_datum("GCJ-02") == "gcj02"
    assert crs.normalise_datum("BD09") == "bd09"
    with pytest.raises(InputError, match="unknown datum"):
        crs.normalise_datum("tokyo")
    projected = gpd.GeoDataFrame(geometry=[shapely.Point(500000, 3460000)], crs=4549)
    with pytest.raises(InputError, match="EPSG:4326"):
        crs.convert(projected, "gcj02", "wgs84")
    with pytest.raises(InputError, match="no CRS"):
        crs.to_metric(gpd.GeoDataFrame(geometry=[shapely.Point(120, 31)]))


def test_metric_crs_is_gauss_kruger_120():
    x, y = crs.lonlat_to_metric([120.0], [31.0])
    # On the central meridian the easting is the 500 km false easting.
    assert float(x[0]) == pytest.approx(500_000.0, abs=0.01)
    lon, lat = crs.metric_to_lonlat(x, y)
    assert float(lon[0]) == pytest.approx(120.0, abs=1e-9)
    # One degree of latitude near 31N is ~110.85 km on the ellipsoid.
    _, y2 = crs.lonlat_to_metric([120.0], [32.0])
    assert float(y2[0] - y[0]) == pytest.approx(geodesic_m(120, 31, 120, 32), rel=1e-3)


@pytest.mark.parametrize("lon,lat", [(98.90625, 23.18359375)])
def test_round_trip_where_the_shift_crosses_the_border(lon, lat):
    # A mainland point near the Myanmar border whose GCJ-02 position falls outside the
    # mainland outline (found by hypothesis): the inverse must follow the forward rule,
    # which depends on the WGS84 position, not on the shifted one.
    assert crs.in_mainland_china(lon, lat)
    g = crs.wgs84_to_gcj02(lon, lat)
    assert not crs.in_mainland_china(*g)
    w = crs.gcj02_to_wgs84(*g)
    assert geodesic_m(lon, lat, float(w[0]), float(w[1])) < 0.5
    b = crs.wgs84_to_bd09(lon, lat)
    w = crs.bd09_to_wgs84(*b)
    assert geodesic_m(lon, lat, float(w[0]), float(w[1])) < 0.5


def test_coastal_waters_are_shifted_like_the_land():
    # Hangzhou Bay off Haiyan: Chinese maps shift coastal waters too.
    lon, lat = 120.95, 30.40
    g = crs.wgs84_to_gcj02(lon, lat)
    assert 300 < geodesic_m(lon, lat, float(g[0]), float(g[1])) < 700
