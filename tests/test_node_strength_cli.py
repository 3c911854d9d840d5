"""`kechuang-gis node-strength`: outputs, options and bad input (no partial outputs)."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from test_node_strength import EXACT_ACCESS, LAT, LINE_XY, make_network

from kechuang_gis.cli import main
from kechuang_gis.crs import wgs84_to_gcj02


@pytest.fixture
def line_dir(tmp_path):
    d = tmp_path / "net"
    make_network(LINE_XY, [(1, 2, 600), (2, 3, 1200)]).save(d)
    return d


def write_nodes(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def nodes_csv(tmp_path):
    return write_nodes(tmp_path / "nodes.csv", [
        {"id": "a", "name_zh": "甲", "lon": LINE_XY[1][0], "lat": LINE_XY[1][1], "firms": 1, "kind": "park"},
        {"id": "b", "name_zh": "乙", "lon": LINE_XY[2][0], "lat": LINE_XY[2][1], "firms": 2, "kind": "hub"},
        {"id": "c", "name_zh": "丙", "lon": LINE_XY[3][0], "lat": LINE_XY[3][1], "firms": 3, "kind": "park"},
    ])


def run(*args) -> int:
    return main(["node-strength", *map(str, args)])


def test_cli_hand_case(line_dir, nodes_csv, tmp_path, capsys):
    out = tmp_path / "out"
    assert run("--network", line_dir, "--nodes", nodes_csv, "--mass-col", "firms", "--out", out) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["city_matrix.csv", "flows.parquet", "meta.json", "node_strength.csv",
                     "node_strength.parquet", "sensitivity.csv"]
    t = pd.read_csv(out / "node_strength.csv", dtype={"id": str}).set_index("id")
    # w_ab = 1*2/10, w_ac = 1*3/30, w_bc = 2*3/20 -> S = 0.3, 0.5, 0.4
    assert list(t.loc[["a", "b", "c"], "gravity_strength"]) == pytest.approx([0.3, 0.5, 0.4])
    assert t.loc["b", "rank"] == 1 and t.loc["b", "name_zh"] == "乙"
    sens = pd.read_csv(out / "sensitivity.csv")
    assert list(sens.loc[sens["is_default"], "spearman_composite"]) == pytest.approx([1.0])
    assert sorted(sens["beta"]) == [0.5, 1.0, 1.5, 2.0]
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["inputs"]["network"] == str(line_dir)
    assert meta["mass"]["source"] == "column: firms"
    printed = capsys.readouterr().out
    assert "3 nodes ranked" in printed and "wrote" in printed


def test_cli_options(line_dir, nodes_csv, tmp_path):
    out = tmp_path / "out"
    assert run("--network", line_dir, "--nodes", nodes_csv, "--mass-col", "firms", "--decay", "exp",
               "--beta", "0.1", "--weights", "gravity=1", "--top-k", "1", "--kinds", "park",
               "--sensitivity-betas", "none", "--out", out) == 0
    assert not (out / "sensitivity.csv").exists()
    t = pd.read_csv(out / "node_strength.csv", dtype={"id": str}).set_index("id")
    assert sorted(t.index) == ["a", "c"]  # --kinds park
    assert t.loc["a", "gravity_strength"] == pytest.approx(3 * np.exp(-3.0))
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["parameters"]["weights"]["gravity"] == 1.0 and meta["parameters"]["top_k"] == 1


def test_cli_proxy_mass_is_labelled(line_dir, nodes_csv, tmp_path):
    out = tmp_path / "out"
    assert run("--network", line_dir, "--nodes", nodes_csv, "--sensitivity-betas", "none", "--out", out) == 0
    t = pd.read_csv(out / "node_strength.csv")
    assert t["mass_source"].str.startswith("proxy:").all()
    assert t["mass_source"].str.contains("not measured data").all()
    cm = pd.read_csv(out / "city_matrix.csv")
    assert cm["mass_source"].str.startswith("proxy:").all()
    assert gpd.read_parquet(out / "flows.parquet")["mass_source"].str.startswith("proxy:").all()
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["mass"]["is_proxy"] and "not measured data" in meta["mass"]["note"]


def test_cli_gcj02_nodes(line_dir, tmp_path):
    lon, lat = wgs84_to_gcj02([p[0] for p in LINE_XY.values()], [p[1] for p in LINE_XY.values()])
    path = write_nodes(tmp_path / "gcj.csv", {"id": ["a", "b", "c"], "lon": lon, "lat": lat, "m": [1, 2, 3]})
    out = tmp_path / "out"
    # Without the datum option the points are ~500 m off and cannot snap within 100 m.
    assert run("--network", line_dir, "--nodes", path, "--mass-col", "m", "--out", out) == 2
    assert not out.exists()
    assert run("--network", line_dir, "--nodes", path, "--mass-col", "m", "--datum", "gcj02",
               "--out", out) == 0
    t = pd.read_csv(out / "node_strength.csv", dtype={"id": str}).set_index("id")
    assert t.loc["b", "gravity_strength"] == pytest.approx(0.5)


@pytest.mark.parametrize("rows, extra, message", [
    ([("a", 120.0, 1), ("a", 120.1, 2), ("c", 120.3, 3)], [], "duplicate id values: a"),
    ([("a", 120.0, 0), ("b", 120.1, 2), ("c", 120.3, -1)], [], r"zero or negative.*a \(0\).*c \(-1\)"),
    ([("a", 120.0, 1)], [], "at least two nodes"),
    ([("a", 120.0, 1), ("b", 120.1, 2)], ["--modes", "rail"], "no operating rail"),
    ([("a", 120.0, 1), ("b", 120.1, 2)], ["--weights", "gravity=x"], "not a number"),
    ([("a", 120.0, 1), ("b", 120.1, 2)], ["--mass-col", "staff"], "mass column 'staff' not found"),
    ([("a", 120.0, 1), ("b", 120.1, 2)], ["--kinds", "park"], "needs a 'kind' column"),
])
def test_cli_bad_input_writes_nothing(line_dir, tmp_path, capsys, rows, extra, message):
    path = write_nodes(tmp_path / "n.csv", [{"id": i, "lon": x, "lat": LAT, "m": m} for i, x, m in rows])
    out = tmp_path / "out"
    args = ["--network", line_dir, "--nodes", path, *extra, "--out", out]
    if "--mass-col" not in extra:
        args[4:4] = ["--mass-col", "m"]
    assert run(*args) == 2
    err = capsys.readouterr().err
    assert "error:" in err
    assert re.search(message, err), err
    assert not out.exists()


def test_cli_all_unreachable_and_unsnapped(tmp_path, capsys):
    xy = {1: (120.0, LAT), 2: (120.1, LAT), 3: (120.2, LAT), 4: (120.3, LAT)}
    d = tmp_path / "net"
    make_network(xy, [(1, 2, 600), (3, 4, 600)]).save(d)
    path = write_nodes(tmp_path / "n.csv", [
        {"id": "a", "lon": 120.0, "lat": LAT, "m": 1}, {"id": "c", "lon": 120.2, "lat": LAT, "m": 1},
        {"id": "far", "lon": 120.5, "lat": 31.3, "m": 1}])
    out = tmp_path / "out"
    assert run("--network", d, "--nodes", path, "--mass-col", "m", "--out", out) == 2
    err = capsys.readouterr().err
    assert "warning: 1 node(s) not joined to the network: beyond snap distance (100 m)" in err and "far" in err
    assert "none of the 2 nodes can reach another" in err
    assert not out.exists()


def test_cli_failed_run_keeps_previous_outputs(line_dir, nodes_csv, tmp_path):
    out = tmp_path / "out"
    assert run("--network", line_dir, "--nodes", nodes_csv, "--mass-col", "firms", "--out", out) == 0
    before = (out / "node_strength.csv").read_bytes()
    assert run("--network", line_dir, "--nodes", nodes_csv, "--mass-col", "nope", "--out", out) == 2
    assert (out / "node_strength.csv").read_bytes() == before


def _region_grid(tmp_path):
    """A coarse road grid over the study region with one rail line of two stations."""
    lons = np.arange(119.0, 122.01, 0.25)
    lats = np.arange(30.0, 32.21, 0.25)
    xy, ids = {}, {}
    k = 1
    for i, lo in enumerate(lons):
        for j, la in enumerate(lats):
            xy[k] = (float(lo), float(la))
            ids[(i, j)] = k
            k += 1
    edges = []
    for (i, j), a in ids.items():
        for b in (ids.get((i + 1, j)), ids.get((i, j + 1))):
            if b:
                edges.append((a, b, 1200))  # ~25 km at ~75 km/h
    # Stations near 苏州站 and 上海虹桥站, one line between them.
    s1, s2 = k, k + 1
    xy[s1], xy[s2] = (120.61, 31.33), (121.32, 31.19)
    edges += [(s1, s2, 1500, "rail", "沪宁城际"), (s1, ids[(6, 5)], 300, "transfer"), (s2, ids[(9, 5)], 300, "transfer")]
    net = make_network(xy, edges, kinds={s1: "station", s2: "station"},
                       access=dict(EXACT_ACCESS, k_nearest=3, max_snap_m=25_000.0, detour_factor=1.3,
                                   station_penalty_s=600.0))
    d = tmp_path / "grid"
    net.save(d)
    return d


def test_cli_gazetteer_nodes(tmp_path):
    d = _region_grid(tmp_path)
    out = tmp_path / "out"
    assert run("--network", d, "--kinds", "park,hub,science_city", "--status", "existing",
               "--sensitivity-betas", "1,2", "--out", out) == 0
    t = pd.read_csv(out / "node_strength.csv", dtype={"id": str, "city_adcode": str})
    assert set(t["kind"]) <= {"park", "hub", "science_city"} and len(t) > 20
    assert (t["status"] == "existing").all()
    assert t["mass_source"].str.startswith("proxy:").all()
    assert set(t["tier"]) == {"core", "sub-core", "general"}
    # Hubs near the two stations carry one rail line in their proxy mass.
    assert t.loc[t["id"] == "sz_station", "proxy_rail_lines"].iloc[0] == 1
    cm = pd.read_csv(out / "city_matrix.csv", dtype={"adcode": str}).set_index("adcode")
    assert cm.loc["320500", "苏州市"] > 0
    sens = pd.read_csv(out / "sensitivity.csv")
    assert set(sens["modes"]) == {"road", "road+rail"}
    out2 = tmp_path / "out2"
    assert run("--network", d, "--city", "330400", "--sensitivity-betas", "none", "--out", out2) == 0
    t2 = pd.read_csv(out2 / "node_strength.csv", dtype={"city_adcode": str})
    assert (t2["city_adcode"] == "330400").all() and len(t2) >= 2


def test_cli_embedded_network(tmp_path):
    """`--network embedded` ranks the gazetteer's parks and hubs with every measure."""
    out = tmp_path / "out"
    assert run("--network", "embedded", "--sensitivity-betas", "0.5,1,2", "--out", out) == 0
    t = pd.read_csv(out / "node_strength.csv", dtype={"id": str, "city_adcode": str})
    assert len(t) > 20 and t["id"].is_unique
    measures = ["mass", "gravity_strength", "gravity_strength_index", "access_strength",
                "betweenness", "closeness", "composite_index", "rank"]
    assert t[measures].notna().all().all()
    assert set(t["tier"]) == {"core", "sub-core", "general"}
    assert t["gravity_strength_index"].max() == pytest.approx(100.0)
    assert (t.loc[t["kind"] == "hub", "proxy_rail_lines"] > 0).any()
    assert t["mass_source"].str.startswith("proxy:").all()
    sens = pd.read_csv(out / "sensitivity.csv")
    assert set(sens["modes"]) == {"road", "road+rail"}
    assert sens.loc[sens["is_default"], "spearman_composite"].iloc[0] == pytest.approx(1.0)
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["network"]["source"] == "embedded" and meta["parameters"]["modes"] == ["road", "rail"]
