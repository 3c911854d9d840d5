"""Scenarios: parsing, applying (exact round trips), deltas worked out by hand, shipped files."""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from kechuang_gis.analysis import scenario as S
from kechuang_gis.errors import InputError
from kechuang_gis.network import embedded
from kechuang_gis.network.model import Network

LAT = 31.30
ROAD_LON = [120.5, 120.6, 120.7, 120.8, 120.9]
ROAD_EDGE_S = 1000.0
#: Access model of the hand network: straight line at 10 m/s, two nearest nodes, no
#: boarding penalty, 5 km snapping radius (road nodes are ~9.5 km apart, so a point
#: on one road node never reaches the next one).
ACCESS = {"detour_factor": 1.0, "speed_kmh": 36.0, "k_nearest": 2, "max_snap_m": 5000.0,
          "station_penalty_s": 0.0}


def road_network() -> Network:
    """Five road junctions in a row on latitude 31.3, 1000 s apart, both directions."""
    ids = np.arange(1, 6, dtype=np.int64)
    # Interchanges: points may join a motorway there (never mid-way).
    nodes = gpd.GeoDataFrame({"id": ids, "kind": "interchange", "name": [f"R{i}" for i in range(5)]},
                             geometry=gpd.points_from_xy(ROAD_LON, [LAT] * 5), crs="EPSG:4326")
    rows, geoms = [], []
    for i in range(4):
        for a, b in ((i, i + 1), (i + 1, i)):
            length = float(Geod(ellps="WGS84").inv(ROAD_LON[a], LAT, ROAD_LON[b], LAT)[2])
            rows.append({"u": ids[a], "v": ids[b], "key": 0, "mode": "road", "class": "motorway",
                         "name": "test road", "ref": "T1", "length_m": length,
                         "speed_kmh": length / ROAD_EDGE_S * 3.6, "travel_time_s": ROAD_EDGE_S,
                         "status": "operating", "source": "test"})
            geoms.append(shapely.LineString([(ROAD_LON[a], LAT), (ROAD_LON[b], LAT)]))
    edges = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:4326")
    return Network(nodes, edges, {"name": "hand", "access": dict(ACCESS)})


def points(xy: dict[str, tuple[float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": list(xy)}, geometry=gpd.points_from_xy(*zip(*xy.values(), strict=True)),
                            crs="EPSG:4326")


def rail_time_by_hand(length_m: float, speed_kmh: float) -> float:
    """Start-to-stop time on a trapezoid profile: cruise plus the acceleration and braking losses."""
    v = speed_kmh / 3.6
    a, b = embedded.RAIL_ACCEL_MS2, embedded.RAIL_BRAKE_MS2
    assert length_m > v * v / (2 * a) + v * v / (2 * b)  # long enough to reach cruise speed
    return length_m / v + v / (2 * a) + v / (2 * b)


# --- a fast line next to some origins ---------------------------------------------------------

FAST_LINE = f"""
name = "fast line"
[[add_line]]
name = "快线"
class = "hsr"
speed_kmh = 300
stations = [{{name = "A", lon = {ROAD_LON[0]}, lat = {LAT}}}, {{name = "B", lon = {ROAD_LON[4]}, lat = {LAT}}}]
"""


def test_fast_line_shortens_times_by_the_hand_computed_amount(tmp_path):
    origins = points({"at_R0": (ROAD_LON[0], LAT), "at_R1": (ROAD_LON[1], LAT),
                      "at_R3": (ROAD_LON[3], LAT), "far_north": (ROAD_LON[3], LAT + 0.02)})
    dest = points({"D": (ROAD_LON[4], LAT)})
    scn = S.parse_scenario(FAST_LINE, where="fast.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = S.run_scenario(scn, tmp_path / "out", base=road_network(), origins=origins, destinations=dest,
                             metrics="nearest", node_strength=False)
    d = res.delta.set_index("id")

    # Base: along the road, 1000 s per junction; the destination sits on R4.
    base = {"at_R0": 4000.0, "at_R1": 3000.0, "at_R3": 1000.0}
    # Scenario: A sits on R0 and B on R4, so an origin on R0 joins A at no cost and the
    # destination is reached from B at no cost: the trip is the rail run A-B (two
    # stations: no dwell). From R1 the best is R1-R0 by road, then the new station's
    # transfer edge (0 m + the builder's transfer penalty), then the rail run.
    length = Geod(ellps="WGS84").inv(ROAD_LON[0], LAT, ROAD_LON[4], LAT)[2]
    rail = rail_time_by_hand(length, 300.0)
    transfer = embedded.settings.TRANSFER_PENALTY_MIN * 60.0
    scen = {"at_R0": rail, "at_R1": min(3000.0, ROAD_EDGE_S + transfer + rail), "at_R3": 1000.0}
    assert scen["at_R1"] < 3000.0  # the case tests the transfer edge, not just the road
    for oid in base:
        assert d.loc[oid, "nearest_time_min_base"] == pytest.approx(base[oid] / 60.0, abs=1e-9)
        assert d.loc[oid, "nearest_time_min_scenario"] == pytest.approx(scen[oid] / 60.0, abs=1e-9)
        assert d.loc[oid, "nearest_time_min_delta"] == pytest.approx((scen[oid] - base[oid]) / 60.0, abs=1e-9)
    # Far from the new line nothing changes (to within float rounding).
    assert abs(d.loc["far_north", "nearest_time_min_delta"]) < 1e-9
    assert abs(d.loc["at_R3", "nearest_time_min_delta"]) < 1e-9

    out = tmp_path / "out"
    assert {"delta.parquet", "changed.parquet", "summary.md", "meta.json"} <= {p.name for p in out.iterdir()}
    changed = gpd.read_parquet(out / "changed.parquet")
    added = changed[changed["action"] == "added"]
    assert set(added["mode"]) == {"rail", "transfer"}
    assert len(added[added["mode"] == "rail"]) == 2  # A->B and B->A
    assert set(changed.loc[changed["action"] == "node_added", "name"]) == {"A", "B"}
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["scenario"]["name"] == "fast line"
    text = (out / "summary.md").read_text(encoding="utf-8")
    assert "2 of 4 origins get faster" in text


def test_apply_leaves_the_base_untouched():
    base = road_network()
    before = base.edges.copy()
    S.apply_scenario(S.parse_scenario(FAST_LINE), base)
    pd.testing.assert_frame_equal(base.edges, before)


# --- exact round trips on the embedded network ------------------------------------------------

@pytest.fixture(scope="module")
def emb() -> Network:
    return S.load_base("embedded")


ROUTING_COLS = ["u", "v", "key", "mode", "class", "name", "ref", "line", "oneway", "length_m", "speed_kmh",
                "travel_time_s", "status", "dwell_s", "service", "via", "opened", "source_id"]


def _sorted(edges: gpd.GeoDataFrame) -> pd.DataFrame:
    e = pd.DataFrame(edges[ROUTING_COLS]).assign(wkt=edges.geometry.to_wkt().to_numpy())
    return e.sort_values(["u", "v", "key"]).reset_index(drop=True)


def test_remove_and_readd_rail_line_gives_the_base_back_exactly(emb):
    data = embedded.read_embedded()
    line = data.lines.set_index("line_id").loc["husuhu_hsr"]
    stations = ", ".join(f'{{id = "{s}", name = "{s}"}}' for s in line["stations"])
    speed = embedded.line_speed(line.to_dict())  # the speed the builder ran the line at
    text = f"""
name = "round trip"
[[remove]]
line = "沪苏湖铁路"
[[add_line]]
name = "{line['name_zh']}"
id = "husuhu_hsr"
class = "{line['class']}"
speed_kmh = {speed}
opened = "{line['opened']}"
stations = [{stations}]
"""
    ap = S.apply_scenario(S.parse_scenario(text), emb)
    removed = ap.changes[ap.changes["action"] == "removed"]
    assert len(removed) > 0 and set(removed["line"]) == {"沪苏湖高速铁路"}
    pd.testing.assert_frame_equal(_sorted(ap.network.edges), _sorted(emb.edges))
    pd.testing.assert_frame_equal(ap.network.nodes, emb.nodes)


def test_remove_and_readd_road_gives_the_base_back_exactly(emb):
    data = embedded.read_embedded()
    route = data.routes.set_index("route_id").loc["G1521_changjia"]
    wps = ", ".join(f'{{id = "{w}", name = "{w}"}}' for w in route["waypoints"])
    text = f"""
name = "road round trip"
[[remove]]
ref = "G1521"
[[add_line]]
name = "{route['name_zh']}"
mode = "road"
id = "G1521_changjia"
ref = "G1521"
opened = "{route['opened']}"
stations = [{wps}]
"""
    ap = S.apply_scenario(S.parse_scenario(text), emb)
    cols = [c for c in ROUTING_COLS if c not in ("service",)]
    a = _sorted(ap.network.edges)[cols]
    b = _sorted(emb.edges)[cols]
    pd.testing.assert_frame_equal(a, b)


def test_set_status_opens_every_section_and_its_stations(emb):
    text = 'name = "x"\n[[set_status]]\nline = "通苏嘉甬铁路"\nstatus = "operating"\n'
    ap = S.apply_scenario(S.parse_scenario(text), emb)
    e = ap.network.edges
    line = e[e["line"] == "通苏嘉甬高速铁路"]
    assert len(line) > 0 and (line["status"] == "operating").all()
    # Changshu West was a planned station: it is open now, and so are its transfers.
    cw = ap.network.nodes.set_index("slug").loc["changshu_west"]
    assert cw["status"] == "operating"
    tr = e[(e["mode"] == "transfer") & ((e["u"] == cw["id"]) | (e["v"] == cw["id"]))]
    assert len(tr) > 0 and (tr["status"] == "operating").all()
    # In the base only the operating network is routed: the line was not in it.
    assert not (emb.edges.loc[emb.edges["line"] == "通苏嘉甬高速铁路", "status"] == "operating").any()


def test_set_speed_recomputes_travel_times(emb):
    text = 'name = "x"\n[[set_speed]]\nref = "G2"\nspeed_kmh = 80\n'
    ap = S.apply_scenario(S.parse_scenario(text), emb)
    e = ap.network.edges
    g2 = e[e["ref"] == "G2"]  # the only ref carrying G2 in the embedded data
    assert len(g2) > 0
    np.testing.assert_allclose(g2["travel_time_s"], g2["length_m"] / (80 / 3.6), rtol=0, atol=1e-9)
    others = e.index.difference(g2.index)
    pd.testing.assert_series_equal(e.loc[others, "travel_time_s"], emb.edges.loc[others, "travel_time_s"])


# --- malformed files -------------------------------------------------------------------------

def _err(text: str, base=None) -> str:
    with pytest.raises(InputError) as exc:
        scn = S.parse_scenario(text, where="bad.toml")
        if base is not None:
            S.apply_scenario(scn, base)
    return str(exc.value)


def test_bad_toml_names_the_line(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('name = "x"\n[[remove]]\nline = "沪苏湖\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.toml: not valid TOML: .*line 3"):
        S.read_scenario(p)


def test_unknown_keys_name_key_and_table():
    msg = _err('name = "x"\n[[remove]]\nline = "a"\n[[remove]]\nlnie = "b"\n')
    assert "[[remove]] table 2" in msg and "'lnie'" in msg
    assert "'colour'" in _err('name = "x"\ncolour = "red"\n[[remove]]\nline = "a"\n')
    msg = _err('name = "x"\n[[add_line]]\nname = "L"\nstations = [{name = "a", lon = 120.5, lat = 31.3, '
               'elev = 3}, {name = "b", lon = 120.6, lat = 31.3}]\n')
    assert "station 1" in msg and "'elev'" in msg


def test_geometry_outside_the_region():
    msg = _err('name = "x"\n[[add_line]]\nname = "L"\nstations = [{name = "a", lon = 116.4, lat = 39.9}, '
               '{name = "b", lon = 120.6, lat = 31.3}]\n')
    assert "outside the region" in msg and "station 1" in msg
    msg = _err('name = "x"\n[[node]]\nname = "新园区"\nlon = 31.3\nlat = 120.6\nmass = 5\n')
    assert "outside the region" in msg and "swapped" in msg


def test_duplicate_names():
    node = '[[node]]\nname = "新园区"\nlon = 120.6\nlat = 31.3\nmass = 5\n'
    assert "duplicate [[node]] node name(s): 新园区" in _err('name = "x"\n' + node + node)
    line = '[[add_line]]\nname = "L"\nstations = ["A", "B"]\n'
    assert "duplicate [[add_line]] line name(s): L" in _err('name = "x"\n' + line + line)
    assert "duplicate station name(s) in one line: A" in _err(
        'name = "x"\n[[add_line]]\nname = "L"\nstations = ["A", "B", "A"]\n')


def test_unknown_line_ref_station_list_close_matches(emb):
    msg = _err('name = "x"\n[[set_status]]\nline = "沪苏嘉城际"\nstatus = "operating"\n', emb)
    assert "no line '沪苏嘉城际'" in msg and "水乡旅游线" in msg and "上海示范区线" in msg
    msg = _err('name = "x"\n[[remove]]\nref = "G61"\n', emb)
    assert "no road with ref 'G61'" in msg and "G60" in msg
    msg = _err('name = "x"\n[[add_line]]\nname = "L"\nstations = ["苏州南站", "苏洲北站"]\n', emb)
    assert "no station '苏洲北站'" in msg and "苏州北站" in msg
    msg = _err('name = "x"\n[[set_status]]\nline = "京沪"\nstatus = "planned"\n', emb)
    assert "ambiguous" in msg and "京沪高速铁路" in msg


def test_nothing_is_applied_when_a_later_table_fails(emb):
    before = emb.edges.copy()
    text = 'name = "x"\n[[remove]]\nline = "沪苏湖高速铁路"\n[[set_speed]]\nref = "G999"\nspeed_kmh = 90\n'
    with pytest.raises(InputError, match="G999"):
        S.apply_scenario(S.parse_scenario(text), emb)
    pd.testing.assert_frame_equal(emb.edges, before)


def test_existing_name_far_from_given_position(emb):
    msg = _err('name = "x"\n[[add_line]]\nname = "L"\nstations = [{name = "苏州南站", lon = 120.0, lat = 31.0}, '
               '"苏州北站"]\n', emb)
    assert "exists in the base" in msg and "km from the given position" in msg


# --- node edits ------------------------------------------------------------------------------

def test_node_edits_change_masses_and_add_nodes():
    nodes = S.default_nodes()
    text = """
name = "nodes"
[[node]]
name = "虹桥国际开放枢纽"
mass_factor = 2
[[node]]
name = "G60科创云廊"
mass = 4
[[node]]
name = "新园区"
lon = 120.6
lat = 31.3
mass = 5
"""
    scn = S.parse_scenario(text)
    out, records = S.apply_node_edits(scn.tables["node"], S._base_nodes(nodes))
    t = out.set_index("id")
    assert t.loc["hongqiao_hub", "mass_factor"] == 2.0
    assert t.loc["g60_cloud_corridor", "mass_set"] == 4.0  # joined from the gazetteer
    new = out[out["name_zh"] == "新园区"].iloc[0]
    assert new["mass_set"] == 5.0 and new["kind"] == "park" and bool(new["scenario_added"])
    assert [r["action"] for r in records] == ["mass_changed", "node_added", "node_added"]
    assert len(out) == len(nodes) + 2
    with pytest.raises(InputError, match="no node '不存在园区'.*give lon"):
        S.apply_node_edits(S.parse_scenario('name = "x"\n[[node]]\nname = "不存在园区"\nmass = 2\n')
                           .tables["node"], S._base_nodes(nodes))


# --- shipped scenarios -----------------------------------------------------------------------

def test_every_shipped_scenario_parses_and_applies(emb):
    files = S.shipped_scenarios()
    assert {f.name for f in files} >= {"tongsujiayong.toml", "husujia_intercity.toml", "husuhu_without.toml",
                                       "g60_hongqiao_nodes.toml"}
    nodes = S._base_nodes(S.default_nodes())
    for f in files:
        scn = S.read_scenario(f)
        assert scn.sources and scn.description, f"{f.name} must cite what it models"
        ap = S.apply_scenario(scn, emb)
        S.apply_node_edits(ap.node_edits, nodes, scn.name)
    husuhu = S.read_scenario(S.SCENARIO_DIR / "husuhu_without.toml")
    assert husuhu.reading == "inverse"


def test_default_scenario_runs_on_counties(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = S.run_default_scenario(tmp_path / "scn", origins="counties", metrics="nearest,gravity")
    d = res.delta
    # Every point keeps its base access links (routing.snap_like), so opening a line can
    # only add paths: no time gets longer and no gravity sum gets smaller, anywhere.
    assert (d["nearest_time_min_delta"].dropna() <= 1e-9).all()
    assert (d["gravity_delta"].dropna() >= -1e-12).all()
    assert (d["gravity_delta"] > 1e-6).any()
    nd = pd.read_csv(tmp_path / "scn" / "node_strength_delta.csv")
    south = nd[nd["name_zh"] == "苏州南站"].iloc[0]
    assert south["rank_scenario"] < south["rank_base"]  # the new interchange moves up
    assert "通苏嘉甬" in (tmp_path / "scn" / "summary.md").read_text(encoding="utf-8")
