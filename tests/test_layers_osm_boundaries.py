"""Comparing our admin boundaries with OSM boundary relations: OSM files written with
pyosmium from known polygons (an exact copy, a GCJ-02-shifted copy, a copy with extra
sea area, a same-named unit elsewhere), so every expected figure is known in advance."""

from __future__ import annotations

import numpy as np
import osmium
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from kechuang_gis.cli import main
from kechuang_gis.crs import wgs84_to_gcj02
from kechuang_gis.errors import InputError, NetworkError, OfflineError
from kechuang_gis.layers.admin import admin_county
from kechuang_gis.layers.osm_boundaries import (
    compare_boundaries,
    download_osm_boundaries,
    read_osm_boundaries,
)

GEOD = Geod(ellps="WGS84")


def outer_ring(geom) -> np.ndarray:
    part = max(getattr(geom, "geoms", [geom]), key=lambda p: p.area)
    return np.asarray(part.exterior.coords)


def write_boundaries(path, rings: list[tuple[np.ndarray, str, str]]):
    """One closed way and one type=boundary relation per (ring, name, admin_level)."""
    w = osmium.SimpleWriter(str(path), overwrite=True)
    nid = 1
    for k, (ring, name, level) in enumerate(rings, start=1):
        ids = []
        for x, y in ring[:-1]:
            w.add_node(osmium.osm.mutable.Node(id=nid, location=(float(x), float(y))))
            ids.append(nid)
            nid += 1
        w.add_way(osmium.osm.mutable.Way(id=k, nodes=[*ids, ids[0]]))
        w.add_relation(osmium.osm.mutable.Relation(
            id=100 + k, members=[("w", k, "outer")],
            tags={"type": "boundary", "boundary": "administrative", "admin_level": level, "name": name}))
    w.close()
    return path


@pytest.fixture(scope="module")
def units():
    c = admin_county()
    # Single-part units keep the expected figures exact (the writer takes one ring).
    single = c[c.geometry.apply(lambda g: len(getattr(g, "geoms", [g])) == 1)]
    return single.iloc[:4].reset_index(drop=True)


@pytest.fixture(scope="module")
def osm_file(units, tmp_path_factory):
    same, shifted, extended, elsewhere = (units.iloc[i] for i in range(4))
    x, y = outer_ring(shifted.geometry).T
    gx, gy = wgs84_to_gcj02(x, y)
    # Extra area: a 5 km strip along the unit's east side, as when one source includes water.
    minx, miny, maxx, maxy = extended.geometry.bounds
    grown = shapely.union(extended.geometry, shapely.box(maxx - 0.01, miny, maxx + 0.05, maxy))
    far = outer_ring(elsewhere.geometry) + [3.0, 2.0]
    return write_boundaries(tmp_path_factory.mktemp("osm") / "boundaries.osm.pbf", [
        (outer_ring(same.geometry), same["name"], "6"),
        (np.c_[gx, gy], shifted["name"], "6"),
        (outer_ring(grown), extended["name"], "6"),
        (far, elsewhere["name"], "6"),
    ])


@pytest.fixture(scope="module")
def table(units, osm_file):
    return compare_boundaries(units, read_osm_boundaries(osm_file)).set_index("adcode")


def test_reads_boundary_relations_as_polygons(osm_file, units):
    osm = read_osm_boundaries(osm_file)
    assert sorted(osm["osm_id"]) == [101, 102, 103, 104]
    assert osm.crs.to_epsg() == 4326
    first = osm.set_index("osm_id").loc[101].geometry
    assert first.symmetric_difference(units.geometry.iloc[0]).area == pytest.approx(0, abs=1e-12)


def test_identical_boundary_lines_up(table, units):
    row = table.loc[units["adcode"].iloc[0]]
    assert row["status"] == "ok"
    assert row["iou"] == pytest.approx(1.0)
    assert row["offset_median_m"] == pytest.approx(0, abs=1e-6)
    assert row["hausdorff_m"] == pytest.approx(0, abs=1e-6)


def test_gcj02_outline_is_reported_as_a_shift_of_the_right_size_and_direction(table, units):
    row = table.loc[units["adcode"].iloc[1]]
    assert row["status"] == "shifted"
    # Independently: the GCJ-02 displacement at the unit's centroid, measured geodesically.
    c = units.geometry.iloc[1].centroid
    gx, gy = wgs84_to_gcj02(c.x, c.y)
    az, _, dist = GEOD.inv(c.x, c.y, float(gx), float(gy))
    assert 300 < dist < 700
    assert row["shift_m"] == pytest.approx(dist, rel=0.05)
    # Grid bearing in EPSG:4549 vs the true azimuth at one point: they differ by the
    # meridian convergence and by the offset's variation over the unit (a few degrees).
    assert (row["shift_bearing_deg"] - az % 360 + 180) % 360 - 180 == pytest.approx(0, abs=6)


def test_extra_area_differs_but_is_not_a_shift(table, units):
    row = table.loc[units["adcode"].iloc[2]]
    assert row["status"] == "differs"
    assert row["area_diff_pct"] < -5          # ours is smaller than the grown OSM polygon
    assert row["iou"] < 0.95
    assert row["hausdorff_m"] > 3000         # the grown side is kilometres away


def test_same_name_elsewhere_is_not_matched(table, units):
    row = table.loc[units["adcode"].iloc[3]]
    assert row["status"] == "unmatched" and pd.isna(row["osm_id"])


def test_cli_writes_the_table_and_fails_on_a_shift(osm_file, units, tmp_path, capsys):
    out = tmp_path / "compare.csv"
    assert main(["layers", "compare-osm", "--osm", str(osm_file), "--level", "county", "--out", str(out)]) == 1
    got = pd.read_csv(out, dtype={"adcode": str}).set_index("adcode")
    assert len(got) == len(admin_county())
    assert got.loc[units["adcode"].iloc[1], "status"] == "shifted"
    assert "shifted: 1" in capsys.readouterr().out
    only_good = write_boundaries(tmp_path / "good.osm.pbf", [(outer_ring(units.geometry.iloc[0]),
                                                              units["name"].iloc[0], "6")])
    assert main(["layers", "compare-osm", "--osm", str(only_good), "--level", "county"]) == 0


def test_bad_inputs(tmp_path):
    empty = tmp_path / "empty.osm.pbf"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_osm_boundaries(empty)
    garbage = tmp_path / "garbage.osm.pbf"
    garbage.write_bytes(b"\x00\x01not a pbf" * 50)
    with pytest.raises(InputError, match="garbage.osm.pbf"):
        read_osm_boundaries(garbage)
    roads_only = tmp_path / "roads.osm.pbf"
    w = osmium.SimpleWriter(str(roads_only))
    w.add_node(osmium.osm.mutable.Node(id=1, location=(120.6, 31.3)))
    w.add_node(osmium.osm.mutable.Node(id=2, location=(120.7, 31.3)))
    w.add_way(osmium.osm.mutable.Way(id=1, nodes=[1, 2], tags={"highway": "primary"}))
    w.close()
    with pytest.raises(NetworkError, match="no administrative boundaries"):
        read_osm_boundaries(roads_only)


def test_overpass_offline_uncached_says_what_to_do(tmp_path):
    try:
        download_osm_boundaries(shapely.box(120.60, 31.30, 120.61, 31.31), cache_dir=tmp_path)
    except OfflineError as exc:
        assert "--osm FILE" in str(exc)
    else:  # pragma: no cover - only with a live connection
        pytest.skip("Overpass is reachable here; the offline path is not exercised")
