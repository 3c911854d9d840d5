"""`kechuang-gis accessibility` end to end, and the bad inputs of issue 4 section 7."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from accessibility_helpers import X0, Y0, grid_network
from rasterio.transform import from_origin

from kechuang_gis.analysis.accessibility import accessibility
from kechuang_gis.cli import main
from kechuang_gis.crs import metric_to_lonlat
from kechuang_gis.errors import InputError


def _lonlat(dx, dy):
    lon, lat = metric_to_lonlat(np.array([X0 + dx]), np.array([Y0 + dy]))
    return float(lon[0]), float(lat[0])


@pytest.fixture(scope="module")
def net_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("net") / "network"
    grid_network(nx_=8, ny=6, spacing=1000.0, oneway_row=2).save(d)
    return d


def _csv(path, rows, header="id,lon,lat,jobs"):
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    dests = _csv(tmp_path / "dests.csv", [("a", *_lonlat(0, 0), 10), ("b", *_lonlat(6000, 4000), 5)])
    origins = _csv(tmp_path / "origins.csv",
                   [(f"o{i}", *_lonlat(700 * i, 500 * i)) for i in range(8)], header="id,lon,lat")
    return dests, origins


def _run(*args):
    return main(["accessibility", *map(str, args)])


def test_cli_end_to_end(net_dir, files, tmp_path, capsys):
    dests, origins = files
    out = tmp_path / "out"
    code = _run("--network", net_dir, "--destinations", dests, "--origins", origins, "--mass-col", "jobs",
                "--metrics", "nearest,cumulative:5,10,gravity,2sfca,od,isochrones",
                "--isochrones", "5,10", "--out", out)
    assert code == 0, capsys.readouterr().err
    o = gpd.read_parquet(out / "origins.parquet")
    assert o["id"].tolist() == [f"o{i}" for i in range(8)]
    assert {"nearest_time_min", "nearest_id", "cum_5", "cum_10", "gravity", "2sfca"} <= set(o.columns)
    assert o.crs.to_epsg() == 4326
    od = pd.read_parquet(out / "od.parquet")
    assert len(od) == 16 and list(od.columns) == ["origin_id", "dest_id", "time_min"]
    # o0 sits on node (0, 0) = destination a.
    assert od.query("origin_id == 'o0' and dest_id == 'a'")["time_min"].iloc[0] == pytest.approx(0.0)
    iso = gpd.read_parquet(out / "isochrones.parquet")
    assert sorted(iso["minutes"].unique()) == [5.0, 10.0] and len(iso) == 4
    summary = pd.read_csv(out / "summary_by_county.csv")
    assert {"county_name", "metric", "mean", "median", "unreachable"} <= set(summary.columns)
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["origins"] == 8


def test_cli_grid_surfaces(net_dir, files, tmp_path):
    dests, _ = files
    out = tmp_path / "out"
    with pytest.warns(Warning):
        code = _run("--network", net_dir, "--destinations", dests, "--origins", "grid:5000",
                    "--metrics", "nearest", "--out", out)
    assert code == 0
    with rasterio.open(out / "nearest_time_min.tif") as src:
        assert src.crs.to_epsg() == 4549
        assert np.isnan(src.nodata)
        assert src.compression is not None and src.overviews(1)
        a = src.read(1)
    assert np.isfinite(a).sum() >= 1 and np.isnan(a).sum() > 0  # most cells are off this tiny network


def _fails(capsys, out, *args, match):
    code = _run(*args, "--out", out)
    err = capsys.readouterr().err
    assert code == 2, err
    assert match in err, err
    assert not out.exists()  # no partial outputs
    return err


def test_destinations_outside_network(net_dir, files, tmp_path, capsys):
    _, origins = files
    far = _csv(tmp_path / "far.csv", [("x", 119.0, 30.9, 1)])  # Xuancheng hills, far from the grid
    _fails(capsys, tmp_path / "o1", "--network", net_dir, "--destinations", far, "--origins", origins,
           "--metrics", "nearest", match="no destination is within")
    # One far destination among good ones: counted warning, the run goes on.
    mixed = _csv(tmp_path / "mixed.csv", [("a", *_lonlat(0, 0), 1), ("x", 119.0, 30.9, 1)])
    assert _run("--network", net_dir, "--destinations", mixed, "--origins", origins,
                "--metrics", "nearest", "--out", tmp_path / "o2") == 0
    assert "1 destination(s) not joined to the network: beyond snap distance" in capsys.readouterr().err


def test_destination_outside_study_area_warns(net_dir, files, tmp_path, capsys):
    _, origins = files
    # 人民广场, Shanghai: outside 两区六市 (and far from this network: dropped as well).
    d = _csv(tmp_path / "d.csv", [("a", *_lonlat(0, 0), 1), ("sh", 121.475, 31.232, 1)])
    assert _run("--network", net_dir, "--destinations", d, "--origins", origins,
                "--metrics", "nearest", "--out", tmp_path / "o") == 0
    err = capsys.readouterr().err
    assert "1 destination(s) outside the study area (kept): sh" in err


def test_empty_destination_file(net_dir, files, tmp_path, capsys):
    _, origins = files
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _fails(capsys, tmp_path / "o", "--network", net_dir, "--destinations", empty, "--origins", origins,
           "--metrics", "nearest", match="empty")
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,lon,lat\n")
    _fails(capsys, tmp_path / "o", "--network", net_dir, "--destinations", header_only, "--origins", origins,
           "--metrics", "nearest", match="no rows")


@pytest.mark.parametrize("mass", ["nan", "-3", ""])
def test_bad_masses(net_dir, files, tmp_path, capsys, mass):
    _, origins = files
    d = _csv(tmp_path / "d.csv", [("a", *_lonlat(0, 0), 1), ("bad", *_lonlat(1000, 0), mass)])
    _fails(capsys, tmp_path / "o", "--network", net_dir, "--destinations", d, "--origins", origins,
           "--mass-col", "jobs", "--metrics", "gravity", match="bad")


@pytest.mark.parametrize("col,value", [("travel_time_s", 0.0), ("travel_time_s", -5.0), ("speed_kmh", 0.0)])
def test_bad_edges(net_dir, files, tmp_path, capsys, col, value):
    dests, origins = files
    bad = tmp_path / "badnet"
    bad.mkdir()
    for name in ("nodes.parquet", "meta.json"):
        (bad / name).write_bytes((net_dir / name).read_bytes())
    e = gpd.read_parquet(net_dir / "edges.parquet")
    e.loc[3, col] = value
    e.to_parquet(bad / "edges.parquet")
    _fails(capsys, tmp_path / "o", "--network", bad, "--destinations", dests, "--origins", origins,
           "--metrics", "nearest", match=col)


def test_crs_mismatch(net_dir, files, tmp_path, capsys):
    dests, _ = files
    # Coordinates in EPSG:4549 metres in a lon/lat CSV: refused, not silently misplaced.
    metric = _csv(tmp_path / "metric.csv", [("m", X0, Y0)], header="id,lon,lat")
    _fails(capsys, tmp_path / "o", "--network", net_dir, "--destinations", dests, "--origins", metric,
           "--metrics", "nearest", match="latitude")
    # A projected GeoJSON is reprojected (its CRS is declared), and gives the same answer.
    pts = gpd.GeoDataFrame({"id": ["p"]}, geometry=gpd.points_from_xy([X0 + 1000], [Y0]), crs=4549)
    pts.to_file(tmp_path / "p.geojson", driver="GeoJSON")
    r = accessibility(net_dir, str(tmp_path / "p.geojson"), str(dests), "nearest")
    assert r.origins["nearest_time_min"].iloc[0] == pytest.approx(1.0)
    # A GeoDataFrame without a CRS is refused.
    with pytest.raises(InputError, match="no CRS"):
        accessibility(net_dir, pts.set_crs(None, allow_override=True), str(dests), "nearest")


def test_population_raster_not_overlapping(net_dir, files, tmp_path, capsys):
    dests, origins = files
    pop = tmp_path / "pop.tif"
    with rasterio.open(pop, "w", driver="GTiff", height=2, width=2, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(100.0, 40.0, 0.1, 0.1)) as dst:
        dst.write(np.ones((2, 2), dtype="float32"), 1)
    _fails(capsys, tmp_path / "o", "--network", net_dir, "--destinations", dests, "--origins", origins,
           "--metrics", "2sfca", "--population", pop, match="does not overlap")


def test_time_limit_zero(net_dir, files, tmp_path, capsys):
    dests, origins = files
    _fails(capsys, tmp_path / "o", "--network", net_dir, "--destinations", dests, "--origins", origins,
           "--metrics", "nearest", "--limit", "0", match="positive")


def test_duplicate_ids(net_dir, files, tmp_path, capsys):
    _, origins = files
    d = _csv(tmp_path / "dup.csv", [("a", *_lonlat(0, 0), 1), ("a", *_lonlat(1000, 0), 2)])
    _fails(capsys, tmp_path / "o", "--network", net_dir, "--destinations", d, "--origins", origins,
           "--metrics", "nearest", match="duplicate")


def test_failure_keeps_previous_output(net_dir, files, tmp_path, capsys):
    dests, origins = files
    out = tmp_path / "out"
    assert _run("--network", net_dir, "--destinations", dests, "--origins", origins,
                "--metrics", "nearest", "--out", out) == 0
    before = (out / "origins.parquet").read_bytes()
    assert _run("--network", net_dir, "--destinations", dests, "--origins", origins,
                "--metrics", "nearest", "--limit", "-1", "--out", out) == 2
    assert (out / "origins.parquet").read_bytes() == before
