"""The embedded strategic network: construction rules on a hand-made fixture, and the
committed data of geodata/network/ against independent facts (admin polygons, published
timetable times, official line lengths).

Expectations are computed here with pyproj/shapely/networkx, not with the builder.
"""

from __future__ import annotations

import shutil

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import DATA
from pyproj import Geod

from kechuang_gis import settings
from kechuang_gis.analysis import routing
from kechuang_gis.crs import gcj02_to_wgs84, lonlat_to_metric
from kechuang_gis.errors import InputError
from kechuang_gis.network.embedded import build_embedded
from kechuang_gis.network.model import STATION_KINDS, Network

MINI = DATA / "embedded_mini"
GEODATA = settings.GEODATA_DIR
REAL = GEODATA / "network"
GEOD = Geod(ellps="WGS84")

#: Authored chord length vs official length, for lines whose official figure covers
#: the authored station range: straight station-to-station chords cut curves, so they
#: run short. Measured shortfall on the committed data: up to 12.6 % (沪宁沿江, whose
#: track bends along the Yangtze between widely spaced stations); one line is 3 % long
#: (宁杭, station positions estimated). Tolerance: -15 % .. +5 %.
LENGTH_TOLERANCE = (-15.0, 5.0)
TIMETABLE_TOLERANCE = 0.30


def geod_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def run_time_s(length_m: float, v_kmh: float, a: float = 0.3, b: float = 0.5) -> float:
    """Trapezoidal start-to-stop time, written out independently of the builder."""
    v = v_kmh / 3.6
    t_acc, t_dec = v / a, v / b
    d_acc, d_dec = v * t_acc / 2, v * t_dec / 2
    if length_m >= d_acc + d_dec:
        return t_acc + t_dec + (length_m - d_acc - d_dec) / v
    # triangular: L = vp^2/2a + vp^2/2b
    vp = np.sqrt(length_m / (1 / (2 * a) + 1 / (2 * b)))
    return vp / a + vp / b


def by_slug(net: Network) -> dict[str, int]:
    return dict(zip(net.nodes["slug"], net.nodes["id"], strict=True))


def edge(net: Network, u: str, v: str, **where) -> pd.Series:
    ids = by_slug(net)
    e = net.edges[(net.edges["u"] == ids[u]) & (net.edges["v"] == ids[v])]
    for k, val in where.items():
        e = e[e[k] == val]
    assert len(e) == 1, f"expected one edge {u}->{v} {where}, found {len(e)}"
    return e.iloc[0]


# --- construction rules on the mini fixture ---------------------------------------

MINI_XY = {"sta_a": (121.32, 31.19), "sta_b": (120.98, 31.38), "sta_p": (120.80, 31.40),
           "sta_d": (120.43, 31.59), "sta_f": (120.95, 31.60), "sta_g": (120.62, 31.20),
           "rn_1": (121.20, 31.35), "rn_2": (120.66, 31.45), "rn_3": (120.40, 31.55),
           "rn_4": (120.30, 31.40)}
_lon, _lat = gcj02_to_wgs84(120.6446, 31.4187)
MINI_XY["sta_c"] = (float(_lon), float(_lat))


def test_mini_positions_are_wgs84():
    net = build_embedded(statuses="all", data_dir=MINI)
    pts = dict(zip(net.nodes["slug"], zip(net.nodes.geometry.x, net.nodes.geometry.y, strict=True),
                   strict=True))
    for slug, xy in MINI_XY.items():
        assert geod_m(pts[slug], xy) < 0.01, slug
    # the GCJ-02 row was shifted back by the few hundred metres of the datum offset
    assert 200 < geod_m(MINI_XY["sta_c"], (120.6446, 31.4187)) < 800


def test_mini_rail_times_by_hand():
    net = build_embedded(data_dir=MINI)
    dwell = settings.RAIL_DWELL_MIN * 60
    ab = geod_m(MINI_XY["sta_a"], MINI_XY["sta_b"])
    bc = geod_m(MINI_XY["sta_b"], MINI_XY["sta_c"])  # planned sta_p is bypassed
    cd = geod_m(MINI_XY["sta_c"], MINI_XY["sta_d"])
    e = edge(net, "sta_a", "sta_b")
    assert e["length_m"] == pytest.approx(ab, abs=0.01)
    # A terminus, B intermediate: half a dwell on this edge
    assert e["travel_time_s"] == pytest.approx(run_time_s(ab, 300) + dwell / 2, abs=0.01)
    e = edge(net, "sta_c", "sta_b")
    assert e["travel_time_s"] == pytest.approx(run_time_s(bc, 300) + dwell, abs=0.01)
    assert e["status"] == "operating" and e["class"] == "hsr" and e["line"] == "甲丁高铁"
    # express B -> D skips C (served by one operating line only); B is an interchange
    e = edge(net, "sta_b", "sta_d", service="express")
    assert e["length_m"] == pytest.approx(bc + cd, abs=0.01)
    assert e["travel_time_s"] == pytest.approx(run_time_s(bc + cd, 300) + dwell / 2, abs=0.01)
    # no operating speed: the class default is the cruise speed, never the design speed
    # (200 in the fixture); two termini, no dwell
    bf = geod_m(MINI_XY["sta_b"], MINI_XY["sta_f"])
    e = edge(net, "sta_f", "sta_b")
    assert settings.RAIL_SPEED_KMH["intercity"] != 200
    assert e["travel_time_s"] == pytest.approx(run_time_s(bf, settings.RAIL_SPEED_KMH["intercity"]),
                                               abs=0.01)
    # A -> D: local A-B, then express B-D (one stop at B: dwell once)
    G = net.select(modes=["rail"]).to_networkx()
    ids = by_slug(net)
    t = nx.shortest_path_length(G, ids["sta_a"], ids["sta_d"], weight="travel_time_s")
    assert t == pytest.approx(run_time_s(ab, 300) + run_time_s(bc + cd, 300) + dwell, abs=0.01)


def test_mini_roads_and_transfers_by_hand():
    net = build_embedded(data_dir=MINI)
    d12 = geod_m(MINI_XY["rn_1"], MINI_XY["rn_2"])
    e = edge(net, "rn_2", "rn_1")
    assert (e["mode"], e["class"], e["ref"], e["name"]) == ("road", "motorway", "G2", "京沪高速")
    assert e["travel_time_s"] == pytest.approx(d12 / (120 / 3.6), abs=0.01)
    # transfers: each station to its nearest road nodes within 15 km, both directions
    sx, sy = lonlat_to_metric(*np.array([MINI_XY[s] for s in ("sta_a", "sta_b", "sta_c", "sta_d", "sta_f")]).T)
    rx, ry = lonlat_to_metric(*np.array([MINI_XY[r] for r in ("rn_1", "rn_2", "rn_3")]).T)
    near = np.hypot(sx[:, None] - rx[None, :], sy[:, None] - ry[None, :]) <= 15_000
    expected = {(s, r) for i, s in enumerate(("sta_a", "sta_b", "sta_c", "sta_d", "sta_f"))
                for j, r in enumerate(("rn_1", "rn_2", "rn_3")) if near[i, j]}
    tr = net.edges[net.edges["mode"] == "transfer"]
    got = set(zip(tr["u_slug"], tr["v_slug"], strict=True))
    assert got == expected | {(r, s) for s, r in expected}
    assert expected == {("sta_c", "rn_2"), ("sta_d", "rn_3")}
    d = geod_m(MINI_XY["sta_c"], MINI_XY["rn_2"]) * settings.ACCESS_DETOUR_FACTOR
    t = d / (settings.ACCESS_SPEED_KMH / 3.6) + settings.TRANSFER_PENALTY_MIN * 60
    for u, v in (("sta_c", "rn_2"), ("rn_2", "sta_c")):
        assert edge(net, u, v)["travel_time_s"] == pytest.approx(t, abs=0.01)


def test_mini_kinds_and_statuses():
    op = build_embedded(data_dir=MINI)
    kinds = dict(zip(op.nodes["slug"], op.nodes["kind"], strict=True))
    assert kinds["sta_b"] == "interchange_station" and kinds["sta_a"] == "station"
    assert kinds["rn_1"] == "interchange"
    assert set(op.edges["status"]) == {"operating"}
    assert "sta_p" not in kinds and "sta_g" not in kinds and "rn_4" not in kinds
    full = build_embedded(statuses="all", data_dir=MINI)
    assert set(full.edges["status"]) == {"operating", "planned"}
    # the planned infill station is reachable only at 'planned'; the bypass stays operating
    assert edge(full, "sta_b", "sta_p")["status"] == "planned"
    assert edge(full, "sta_b", "sta_c")["status"] == "operating"
    assert edge(full, "rn_3", "rn_4")["travel_time_s"] == pytest.approx(
        geod_m(MINI_XY["rn_3"], MINI_XY["rn_4"]) / (settings.ROAD_SPEED_KMH["motorway"] / 3.6))
    # ids do not depend on what else is in the build
    a, b = by_slug(op), by_slug(full)
    assert all(a[s] == b[s] for s in a)
    # select() on the full build gives back exactly the operating build's edges
    cols = ["u", "v", "mode", "travel_time_s"]
    sel = full.select(statuses=["operating"]).edges[cols].sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(sel, op.edges[cols].sort_values(cols).reset_index(drop=True))


@pytest.mark.parametrize("mutation, message", [
    (("rail_lines.csv", "sta_a;sta_b;sta_p", "sta_a;sta_x;sta_p"), "unknown id"),
    (("stations.csv", "121.32,31.19,wgs84", "121.32,31.19,wgs-85"), "unknown datum"),
    (("stations.csv", "sta_b,乙站", "sta_a,乙站"), "duplicate id"),
    (("expressways.csv", "planned,,4", "proposed,,4"), "unknown status"),
    (("stations.csv", "121.32,31.19", "31.19,121.32"), "outside China"),
])
def test_bad_input_names_file_and_row(tmp_path, mutation, message):
    data = tmp_path / "net"
    shutil.copytree(MINI, data)
    name, old, new = mutation
    text = (data / name).read_text(encoding="utf-8")
    assert old in text
    (data / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError, match=message) as exc:
        build_embedded(data_dir=data)
    assert name in str(exc.value)


# --- the committed data -------------------------------------------------------------

@pytest.fixture(scope="module")
def net() -> Network:
    return build_embedded()


@pytest.fixture(scope="module")
def net_all() -> Network:
    return build_embedded(statuses="all")


def test_build_is_deterministic(net, tmp_path):
    again = build_embedded()
    pd.testing.assert_frame_equal(net.nodes.drop(columns="geometry"), again.nodes.drop(columns="geometry"))
    pd.testing.assert_frame_equal(net.edges.drop(columns="geometry"), again.edges.drop(columns="geometry"))
    assert net.nodes.geometry.to_wkb().tolist() == again.nodes.geometry.to_wkb().tolist()
    assert net.edges.geometry.to_wkb().tolist() == again.edges.geometry.to_wkb().tolist()
    net.save(tmp_path / "a")
    again.save(tmp_path / "b")
    for f in ("nodes.parquet", "edges.parquet"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_meta(net):
    m = net.meta
    assert m["source"] == "embedded" and m["length_method"] == "geodesic"
    assert m["access"]["max_snap_m"] == settings.MAX_SNAP_M_EMBEDDED
    assert set(m["data_files"]) >= {"stations.csv", "rail_lines.csv", "road_nodes.csv", "expressways.csv"}
    assert all(len(h) == 64 for h in m["data_files"].values())
    assert "sketch" in m["warning"]


def test_connected(net):
    G = net.to_networkx()
    assert nx.is_strongly_connected(G), [sorted(c)[:5] for c in nx.strongly_connected_components(G)]
    for mode in ("rail", "road"):
        H = nx.MultiDiGraph()
        H.add_edges_from((u, v) for u, v, d in G.edges(data=True) if d["mode"] == mode)
        comps = sorted(nx.strongly_connected_components(H), key=len)
        assert len(comps) == 1, f"{mode}: {len(comps)} components, smallest {[G.nodes[n]['name'] for n in comps[0]]}"


def test_stations_in_their_counties(net_all):
    """Stations with a study-area county lie in that county's polygon; the others lie in
    no study county (and, where the prefecture is a context polygon, inside it)."""
    counties = gpd.read_file(GEODATA / "admin_county.geojson").set_index("adcode")
    context = gpd.read_file(GEODATA / "admin_context.geojson").set_index("adcode")
    study_city = {code for code, _, _ in settings.STUDY_UNITS}
    st = net_all.nodes[net_all.nodes["kind"].isin(STATION_KINDS)]
    assert len(st) > 40
    wrong = []
    for rec, pt in zip(st.to_dict("records"), st.geometry, strict=True):
        code = rec["county_adcode"]
        city = "310100" if code.startswith("3101") else code[:4] + "00"
        inside = counties.index[counties.covers(pt)].tolist()
        if code in study_city or city in study_city:
            if code not in counties.index or not counties.geometry[code].covers(pt):
                wrong.append(f"{rec['name']} declares {code}, lies in {inside}")
        elif inside:
            wrong.append(f"{rec['name']} declares {code} (outside the study area), lies in {inside}")
        elif city in context.index and not context.geometry[city].covers(pt):
            wrong.append(f"{rec['name']} declares {code}, outside city polygon {city}")
    assert not wrong, "\n".join(wrong)


#: Main hubs of the issue: a published time is held to ±30 % only between two of these,
#: and only for the fastest service (the model runs each line's fastest train non-stop
#: between major stations; typical and stopping services are slower by construction).
MAIN_HUBS = {"shanghai_hongqiao", "shanghai", "nanjing_south", "hangzhou_east", "kunshan_south",
             "suzhou", "suzhou_north", "suzhou_industrial_park", "suzhou_south", "wuxi", "wuxi_east",
             "changzhou", "changzhou_north", "jiaxing_south", "jiaxing", "huzhou", "xuancheng"}


@pytest.fixture(scope="module")
def timetable(net) -> pd.DataFrame:
    """Every published pair with the model's fastest operating-rail time (networkx)."""
    tt = pd.read_csv(REAL / "timetable_checks.csv", dtype=str, keep_default_na=False)
    G = net.select(modes=["rail"], statuses=["operating"]).to_networkx()
    G.remove_edges_from([(u, v, k) for u, v, k, d in G.edges(keys=True, data=True)
                         if d["mode"] != "rail"])
    ids = by_slug(net)
    tt["published"] = tt["published_min"].astype(float)
    tt["model"] = [nx.shortest_path_length(G, ids[a], ids[b], weight="travel_time_s") / 60
                   for a, b in zip(tt["from_station"], tt["to_station"], strict=True)]
    tt["diff_pct"] = (tt["model"] / tt["published"] - 1) * 100
    return tt


def _table(tt: pd.DataFrame) -> str:
    lines = [f"{'from':<20}{'to':<20}{'hub':<5}{'service':<10}{'published':>10}{'model':>8}{'diff %':>8}"]
    lines += [f"{r.from_station:<20}{r.to_station:<20}{r.hub_pair:<5}{r.service:<10}"
              f"{r.published:>10.0f}{r.model:>8.1f}{r.diff_pct:>+8.0f}" for r in tt.itertuples()]
    return "\n".join(lines)


def test_timetable_columns_are_consistent(timetable):
    tt = timetable
    assert set(tt["service"]) <= {"fastest", "typical", "stopping", "claim"}
    expected_hub = ["yes" if a in MAIN_HUBS and b in MAIN_HUBS else "no"
                    for a, b in zip(tt["from_station"], tt["to_station"], strict=True)]
    assert tt["hub_pair"].tolist() == expected_hub
    assert (tt["source"].str.len() > 10).all(), "every published time needs its source"
    # the example and at least 9 sourced hub pairs with their fastest service
    hub_fast = tt[(tt["hub_pair"] == "yes") & (tt["service"] == "fastest")]
    assert len(hub_fast) >= 9
    assert ("shanghai_hongqiao", "suzhou_north") in set(zip(hub_fast["from_station"], hub_fast["to_station"], strict=True))


def test_timetable_hub_pairs_fastest_within_30_percent(timetable):
    """HSR times between main hubs within ±30 % of the published fastest times (issue §3).

    All other pairs are printed for information (run with -s), not asserted."""
    asserted = (timetable["hub_pair"] == "yes") & (timetable["service"] == "fastest")
    print("\ncompared, not asserted:\n" + _table(timetable[~asserted]))
    hub = timetable[asserted]
    bad = hub[hub["diff_pct"].abs() > TIMETABLE_TOLERANCE * 100]
    assert bad.empty, (f"{len(bad)} of {len(hub)} hub pairs outside ±{TIMETABLE_TOLERANCE:.0%}:\n"
                       + _table(hub))


def test_lengths_against_official(net_all):
    """Authored chord length of each line against its official figure, where comparable."""
    lines = pd.read_csv(REAL / "rail_lines.csv", dtype=str, keep_default_na=False).set_index("line_id")
    pos = dict(zip(net_all.nodes["slug"], zip(net_all.nodes.geometry.x, net_all.nodes.geometry.y,
                                              strict=True), strict=True))
    rows = {r["line_id"]: r for r in net_all.meta["line_lengths"]}
    compared = 0
    lo, hi = LENGTH_TOLERANCE
    for lid, r in rows.items():
        if not r["comparable"]:
            continue
        seq = lines.at[lid, "stations"].split(";")
        i, j = (seq.index(s) for s in r["section_used"].split(".."))
        km = sum(geod_m(pos[p], pos[q]) for p, q in zip(seq[i:j], seq[i + 1:j + 1], strict=True)) / 1000
        assert km == pytest.approx(r["authored_km"], abs=0.01)
        diff = (km / float(lines.at[lid, "official_length_km"]) - 1) * 100
        assert lo <= diff <= hi, f"{lid}: authored {km:.1f} km vs official {lines.at[lid, 'official_length_km']} km ({diff:+.1f} %)"
        compared += 1
    assert compared >= 4


def test_modes_selection(net):
    rail = build_embedded(modes=["rail"])
    road = build_embedded(modes=["road"])
    assert set(rail.edges["mode"]) == {"rail"} and set(road.edges["mode"]) == {"road"}
    assert set(rail.nodes["kind"]) <= set(STATION_KINDS)
    assert not set(road.nodes["kind"]) & set(STATION_KINDS)
    assert set(net.edges["mode"]) == {"rail", "road", "transfer"}
    sel = net.select(modes=["rail"])
    assert set(sel.edges["mode"]) == {"rail", "transfer"}
    # each single-mode network routes between two real places (SIP, Jiaxing Nanhu)
    lon, lat = np.array([120.72, 120.76]), np.array([31.31, 30.75])
    for n in (rail, road, net):
        g = n.csr()
        s = routing.snap(g, lon, lat, n.meta["access"])
        assert s.snapped.all()
        t = routing.point_to_point(g, s, s, n.meta["access"])
        assert np.isfinite(t).all() and t[0, 1] > 0


def test_status_filtering(net, net_all):
    assert set(net.edges["status"]) == {"operating"}
    assert {"under_construction"} <= set(net_all.edges["status"])
    lines_all = set(net_all.edges.loc[net_all.edges["mode"] == "rail", "line"])
    lines_op = set(net.edges.loc[net.edges["mode"] == "rail", "line"])
    rl = pd.read_csv(REAL / "rail_lines.csv", dtype=str, keep_default_na=False)
    not_open = set(rl.loc[rl["status"] != "operating", "name_zh"])
    assert not_open and not (not_open & lines_op) and not_open <= lines_all
    # the operating network is the operating part of the full one
    assert len(net_all.select(statuses=["operating"]).edges) == len(net.edges)


def test_geometry_is_wgs84_in_region(net_all):
    x0, y0, x1, y1 = settings.REGION_BBOX
    b = net_all.nodes.total_bounds
    assert net_all.nodes.crs.to_epsg() == 4326
    assert x0 <= b[0] and b[2] <= x1 and y0 <= b[1] and b[3] <= y1
    assert shapely.get_num_coordinates(net_all.edges.geometry.values).min() >= 2
