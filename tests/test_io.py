"""Reading point inputs (checks and datums) and atomic writing."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from kechuang_gis import crs, io
from kechuang_gis.errors import DataWarning, InputError


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_csv_points_and_gcj02_datum(tmp_path):
    p = write(tmp_path, "pts.csv", "id,lon,lat,mass\na,120.62,31.30,2\nb,120.75,30.75,1\n")
    wgs = io.read_points(p)
    assert list(wgs["id"]) == ["a", "b"] and wgs.crs.to_epsg() == 4326
    conv = io.read_points(p, datum="gcj02")
    ex, ey = crs.gcj02_to_wgs84([120.62, 120.75], [31.30, 30.75])
    assert conv.geometry.x.tolist() == pytest.approx(list(ex), abs=1e-12)
    assert conv.geometry.y.tolist() == pytest.approx(list(ey), abs=1e-12)


def test_swapped_lat_lon_is_detected_and_fixed(tmp_path):
    p = write(tmp_path, "swapped.csv", "id,lon,lat\na,31.30,120.62\nb,30.75,120.75\n")
    with pytest.warns(DataWarning, match="swapped"):
        g = io.read_points(p)
    assert g.geometry.x.tolist() == [120.62, 120.75]


def test_mixed_swapped_rows_are_an_error(tmp_path):
    p = write(tmp_path, "mixed.csv", "id,lon,lat\na,31.30,120.62\nb,30.75,120.75\nc,120.1,31.2\n")
    with pytest.raises(InputError, match="lines 4"):
        io.read_points(p)


def test_far_outside_region_warns_with_count(tmp_path):
    p = write(tmp_path, "far.csv", "id,lon,lat\na,120.6,31.3\nbeijing,116.4,39.9\n")
    with pytest.warns(DataWarning, match="1 point.*beijing"):
        io.read_points(p)


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    ("id,x,y\na,1,2\n", "missing coordinate column"),
    ("id,lon,lat\n", "no rows"),
    ("id,lon,lat\na,120.6,abc\n", "lines 2"),
    ("id,lon,lat\na,120.6,31.3\na,120.7,31.2\n", "duplicate id values: a"),
])
def test_bad_csv_inputs(tmp_path, text, match):
    p = write(tmp_path, "bad.csv", text)
    with pytest.raises(InputError, match=match):
        io.read_points(p)


def test_unknown_datum_and_format(tmp_path):
    p = write(tmp_path, "ok.csv", "id,lon,lat\na,120.6,31.3\n")
    with pytest.raises(InputError, match="unknown datum"):
        io.read_points(p, datum="wgs72")
    q = write(tmp_path, "pts.txt", "x")
    with pytest.raises(InputError, match="unsupported format"):
        io.read_points(q)


def test_geojson_polygons_become_points_and_invalid_is_repaired(tmp_path):
    bowtie = shapely.Polygon([(120.6, 31.3), (120.7, 31.4), (120.7, 31.3), (120.6, 31.4), (120.6, 31.3)])
    assert not bowtie.is_valid
    good = shapely.box(120.8, 31.2, 120.9, 31.3)
    gdf = gpd.GeoDataFrame({"id": ["bow", "box"]}, geometry=[bowtie, good], crs=4326)
    p = tmp_path / "areas.geojson"
    gdf.to_file(p, driver="GeoJSON")
    with pytest.warns(DataWarning, match="repaired 1 invalid.*bow"):
        pts = io.read_points(p)
    assert (pts.geom_type == "Point").all()
    assert shapely.within(pts.geometry.iloc[1], good)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    io.write_text("good\n", target)
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "good\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_atomic_dir_replaces_whole_or_nothing(tmp_path):
    d = tmp_path / "result"
    with io.atomic_dir(d) as tmp:
        (tmp / "a.txt").write_text("1")
    with pytest.raises(ValueError):
        with io.atomic_dir(d) as tmp:
            (tmp / "a.txt").write_text("2")
            raise ValueError("boom")
    assert (d / "a.txt").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]


def test_written_files_are_readable_by_others(tmp_path):
    p = io.write_json({"b": 1, "a": [1, 2]}, tmp_path / "x.json")
    assert oct(p.stat().st_mode & 0o044) == oct(0o044)
    assert p.read_text().startswith('{\n  "a"')


def test_write_geojson_is_deterministic(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["太湖"], "v": [1.5]}, geometry=[shapely.Point(120.123456789, 31.2)], crs=4326)
    a = io.write_geojson(gdf, tmp_path / "a.geojson").read_bytes()
    b = io.write_geojson(gdf, tmp_path / "b.geojson").read_bytes()
    assert a == b and "太湖".encode() in a and b"120.123457" in a
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = gpd.read_file(tmp_path / "a.geojson")
    assert back.loc[0, "name"] == "太湖"
    pd.testing.assert_series_equal(back["v"], pd.Series([1.5], name="v"))
