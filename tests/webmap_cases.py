"""Small hand-made inputs for the web map tests, with the feature counts they must give.

Shared by test_webmap.py (HTML structure) and test_webmap_browser.py (the same maps in
Chromium). Names carry the two XSS payloads of issue 6 section 4.
"""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, box

from kechuang_gis.publish import webmap as W

WGS84 = "EPSG:4326"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "</script><script>window.__xss=1</script>"


def background() -> W.Background:
    city = gpd.GeoDataFrame(
        {"name": ["苏州市", XSS_IMG], "name_en": ["Suzhou", "Evil"]},
        geometry=[box(120.3, 31.0, 120.9, 31.6), box(119.9, 31.0, 120.3, 31.6)], crs=WGS84)
    county = gpd.GeoDataFrame({"name": ["姑苏区"], "name_en": ["Gusu"]},
                              geometry=[box(120.55, 31.28, 120.68, 31.36)], crs=WGS84)
    lakes = gpd.GeoDataFrame({"name_zh": ["太湖"], "name_en": ["Taihu"]},
                             geometry=[Point(120.2, 31.2).buffer(0.15)], crs=WGS84)
    rivers = gpd.GeoDataFrame({"name_zh": ["吴淞江"], "name_en": ["Wusong River"]},
                              geometry=[LineString([(120.7, 31.3), (121.2, 31.3)])], crs=WGS84)
    context = gpd.GeoDataFrame({"name": ["南京市"], "name_en": ["Nanjing"]},
                               geometry=[box(118.5, 31.0, 119.2, 32.0)], crs=WGS84)
    return W.Background(city=city, county=county, context=context, lakes=lakes, rivers=rivers)


#: Background features drawn with basemap none: context 1, county 1, city 2, river 1, lake 1.
BACKGROUND_NONE = {"周边地区": 1, "县级界": 1, "地级市/区界": 2, "河流": 1, "湖泊": 1}


def places() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "id": ["sip", "evil1", "evil2", "ghost"],
        "name_zh": ["苏州工业园区", XSS_IMG, XSS_SCRIPT, "未定位"],
        "name_en": ["Suzhou Industrial Park", "evil one", "evil two", "nowhere"],
        "kind": ["park", "institute", "park", "park"],
        "clusters": ["电子信息;生物医药", "生物医药", XSS_IMG, ""],
        "status": ["existing", "planned", "under_construction", "unlocated"],
        "precision_m": [8000.0, 500.0, 1000.0, np.nan],
        "verified": ["no", "yes", "approx", "no"],
        "seed_refs": ["000_a.txt", "", "001_b.txt", ""],
    }, geometry=[Point(120.72, 31.31), Point(120.5, 31.4), Point(120.6, 31.2), None], crs=WGS84)


def digests() -> list[dict]:
    return [
        {"file": "000_a.txt", "title": "测试文献甲", "title_en": "Doc A",
         "places": [{"gazetteer_id": "sip", "role": "host park"},
                    {"gazetteer_id": "evil1", "role": XSS_SCRIPT}]},
        {"file": "001_b.txt", "title": XSS_IMG, "title_en": "Doc B", "places": []},
    ]


def structures() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "structure": ["taihu_circle_region", "wusong_belt"],
        "name_zh": ["环太湖科创圈", XSS_SCRIPT], "name_en": ["Taihu circle", "Wusong belt"],
        "members": ["sip;evil1", "evil2"]},
        geometry=[box(120.0, 31.0, 120.9, 31.7), box(120.6, 31.25, 121.0, 31.35)], crs=WGS84)


def edges() -> gpd.GeoDataFrame:
    a, b, c = (120.5, 31.3), (120.7, 31.3), (120.9, 31.5)
    return gpd.GeoDataFrame({
        "u": [1, 2, 2, 3], "v": [2, 1, 3, 2],
        "mode": ["road", "road", "rail", "rail"],
        "class": ["motorway", "motorway", "hsr", "hsr"],
        "status": ["operating", "operating", "planned", "planned"],
        "name": ["G2", "G2", XSS_IMG, XSS_IMG], "ref": ["G2", "G2", "", ""]},
        geometry=[LineString([a, b]), LineString([b, a]), LineString([b, c]), LineString([c, b])],
        crs=WGS84)


def nodes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [1, 2, 3], "kind": ["interchange", "station", "junction"],
                             "name": ["苏州东互通", XSS_SCRIPT, "x"]},
                            geometry=[Point(120.5, 31.3), Point(120.7, 31.3), Point(120.9, 31.5)],
                            crs=WGS84)


def hexes() -> gpd.GeoDataFrame:
    cells, vals = [], []
    for i in range(5):
        for j in range(2):
            x, y = 120.4 + 0.05 * i, 31.2 + 0.05 * j
            cells.append(Point(x, y).buffer(0.025, quad_segs=1))  # a diamond stands in for a hex
            vals.append(float(5 * i + j))
    vals[3] = np.nan
    return gpd.GeoDataFrame({"h3": [f"c{k}" for k in range(10)], "nearest_time_min": vals,
                             "gravity": np.arange(10.0)}, geometry=cells, crs=WGS84)


def isochrones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"dest_id": ["sip", "sip"], "dest_name": [XSS_IMG, XSS_IMG],
                             "minutes": [15, 30]},
                            geometry=[Point(120.7, 31.3).buffer(0.05), Point(120.7, 31.3).buffer(0.1)],
                            crs=WGS84)


def strength() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    n = gpd.GeoDataFrame({"id": ["a", "b", "c"], "name_zh": ["苏州", XSS_IMG, "无锡"],
                          "composite_index": [1.0, 0.25, 0.5], "tier": ["core", "general", "sub-core"], "rank": [1, 3, 2],
                          "gravity_strength_index": [0.9, 0.1, 0.4]},
                         geometry=[Point(120.6, 31.3), Point(120.3, 31.5), Point(120.3, 31.6)], crs=WGS84)
    f = gpd.GeoDataFrame({"name_i": ["苏州", "苏州"], "name_j": [XSS_SCRIPT, "无锡"], "w_ij": [2.0, 8.0]},
                         geometry=[LineString([(120.6, 31.3), (120.3, 31.5)]),
                                   LineString([(120.6, 31.3), (120.3, 31.6)])], crs=WGS84)
    return n, f


def user_layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [XSS_IMG, XSS_SCRIPT, "plain"], "note": [XSS_SCRIPT, "ok", None],
                             "val": [1.0, 5.0, 3.0]},
                            geometry=[Point(120.5, 31.3), Point(120.6, 31.4), Point(120.7, 31.2)], crs=WGS84)


#: Scenario case: time change per hexagon (NaN: no data) and the classes worked out by hand.
#: Diverging k=7 (style.diverging_classes): non-zero |delta| = 3.5, 7, 7, 14; their 95th
#: percentile (linear) = 7 + 0.85 * 7 = 12.95, rounded up to a readable 20 = the scale;
#: no-change half-width 2 % of it = 0.4. Upper bounds -20, -10, -0.4, 0.4, 10, 20, 20:
#: -14 -> 1, -7 -> 2, 0 -> 3, 3.5 -> 4, 7 -> 4; NaN -> 7 (no data).
SCENARIO_DELTA = [-14.0, -7.0, 0.0, np.nan, 0.0, 0.0, 3.5, 0.0, 0.0, 7.0]
SCENARIO_DELTA_CLASSES = [1, 2, 3, 7, 3, 3, 4, 3, 3, 4]


def scenario_delta() -> gpd.GeoDataFrame:
    h = hexes()
    base = h["nearest_time_min"].to_numpy() + 20.0
    d = np.array(SCENARIO_DELTA)
    names = [XSS_IMG if i == 2 else f"格{i}" for i in range(len(h))]
    return gpd.GeoDataFrame({"id": h["h3"], "name": names, "nearest_time_min_base": base,
                             "nearest_time_min_scenario": base + d, "nearest_time_min_delta": d,
                             "gravity_base": np.arange(10.0), "gravity_scenario": np.arange(10.0) + 1,
                             "gravity_delta": np.ones(10)}, geometry=h.geometry, crs=WGS84)


def changed() -> gpd.GeoDataFrame:
    """An added rail link stored in both directions, a removed road, an added node."""
    a, b, c = (120.45, 31.22), (120.6, 31.22), (120.5, 31.3)
    return gpd.GeoDataFrame({
        "element": ["edge", "edge", "edge", "node"], "action": ["added", "added", "removed", "node_added"],
        "u": pd.array([1, 2, 3, None], dtype="Int64"), "v": pd.array([2, 1, 4, None], dtype="Int64"),
        "mode": ["rail", "rail", "road", None], "class": ["hsr", "hsr", "motorway", "park"],
        "name": [XSS_SCRIPT, XSS_SCRIPT, "S17", XSS_IMG],
        "status_before": [None, None, "operating", None], "status_after": ["operating", "operating", None, None],
        "speed_before": [np.nan, np.nan, 100.0, np.nan], "speed_after": [300.0, 300.0, np.nan, np.nan],
        "mass_before": [np.nan] * 4, "mass_after": [np.nan, np.nan, np.nan, 5.0], "note": [None] * 4},
        geometry=[LineString([a, b]), LineString([b, a]), LineString([a, c]), Point(c)], crs=WGS84)


def node_ranks() -> pd.DataFrame:
    """Ranks before/after: b +3, c -2, e -2 (a markup name), d new, a unchanged."""
    return pd.DataFrame({
        "id": ["a", "b", "c", "d", "e"], "name_zh": ["苏州", "嘉兴南站", "无锡", "新园区", XSS_IMG],
        "lon": [120.6, 120.75, 120.3, 120.5, 120.45], "lat": [31.3, 30.75, 31.57, 31.25, 31.2],
        "rank_base": pd.array([1, 5, 2, None, 3], dtype="Int64"),
        "rank_scenario": pd.array([1, 2, 4, 3, 5], dtype="Int64"),
        "rank_change": pd.array([0, 3, -2, None, -2], dtype="Int64"),
        "composite_index_base": [100.0, 40.0, 80.0, np.nan, 60.0],
        "composite_index_scenario": [100.0, 70.0, 50.0, 65.0, 45.0]})


#: Panel order of the rank movers: biggest change first, ties by the new rank, new last.
RANK_ORDER = ["嘉兴南站", "无锡", XSS_IMG, "新园区"]
SCENARIO_LAYERS = {"变化（方案 − 基准）": 10, "基准：最近节点时间（分钟）": 10,
                   "方案：最近节点时间（分钟）": 10, "变化的网络要素": 3, "节点排名变化": 4}


def build_all(basemap: str = "none", offline: bool = True) -> dict[str, tuple[W.WebMap, dict, str]]:
    """Every map kind from the hand-made inputs: name -> (map, expected counts, text to find)."""
    bg = background()
    base = dict(BACKGROUND_NONE) if basemap == "none" else {"县级界": 1, "地级市/区界": 2, "湖泊": 1}
    kw = {"background": bg, "basemap": basemap, "offline": offline}
    n, f = strength()
    maps = {
        "overview": (W.overview(places(), structures(), digests=digests(), **kw),
                     {**base, "科创空间结构": 2, "园区与院所": 3}, "苏州工业园区"),
        "transport": (W.transport(edges(), nodes(), **kw),
                      {**base, "高速公路与道路": 1, "铁路": 1, "车站": 2}, "G2"),
        "accessibility": (W.accessibility(hexes(), "nearest_time_min", isochrones=isochrones(),
                                          scheme="Quantiles", k=3, **kw),
                          {**base, "六边形网格": 10, "等时圈": 2}, "分钟"),
        "node_strength": (W.node_strength(n, f, **kw), {**base, "联系强度": 2, "创新节点": 3}, "无锡"),
        "scenario": (W.scenario(scenario_delta(), "nearest_time_min", changed=changed(),
                                node_ranks=node_ranks(), scheme="Quantiles", **kw),
                     {**base, **SCENARIO_LAYERS}, "格1"),
        "layer_en": (W.layer(user_layer(), name="user " + XSS_IMG, lang="en", **kw),
                     {"Surrounding areas": 1, "Counties": 1, "Cities and districts": 2, "Rivers": 1,
                      "Lakes": 1, "user " + XSS_IMG: 3} if basemap == "none" else {}, "plain"),
    }
    return maps


_GEO = re.compile(r"KG\.geo\(\w+, (\"(?:[^\"\\]|\\.)*\"), (\{.*\}), (\{\"styles\".*\})\);\s*$",
                  re.MULTILINE)
_TYPES = {1: "Point", 2: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
          6: "MultiPolygon", 7: "GeometryCollection"}


def _path(a: list[int], scale: float, closed: bool = False) -> list[list[float]]:
    xy = np.cumsum(np.asarray(a, dtype=np.int64).reshape(-1, 2), axis=0) / scale
    out = xy.tolist()
    return out + [out[0]] if closed and out else out


def _geometry(code: int, a: list, scale: float) -> dict:
    t = _TYPES[code]
    if t == "Point":
        return {"type": t, "coordinates": _path(a, scale)[0]}
    if t == "LineString":
        return {"type": t, "coordinates": _path(a, scale)}
    if t == "Polygon":
        return {"type": t, "coordinates": [_path(r, scale, True) for r in a]}
    if t == "MultiPoint":
        return {"type": t, "coordinates": [_path(p, scale)[0] for p in a]}
    if t == "MultiLineString":
        return {"type": t, "coordinates": [_path(p, scale) for p in a]}
    if t == "MultiPolygon":
        return {"type": t, "coordinates": [[_path(r, scale, True) for r in p] for p in a]}
    return {"type": t, "geometries": [_geometry(c, g, scale) for c, g in a]}


def _popup_text(p: dict, i: int) -> str:
    """The texts of a feature's popup, one per line (labels and values as stored)."""
    parts = [p["h"][i]] if p.get("h") and p["h"][i] else []
    if p.get("s") and p["s"][i]:
        parts.append(p["s"][i])
    for j, label in enumerate(p["l"]):
        v = p["v"][i][j]
        if v is None:
            continue
        if p.get("d") and p["d"][j] is not None:
            v = p["d"][j][v]
        parts.append(f"{label}: {v}")
    if p.get("x") and p["x"][i]:
        parts.append(p["x"][i][0])
        parts.extend(p["x"][i][1])
    return "\n".join(parts)


def decode(data: dict, layers: dict[str, dict] | None = None) -> dict:
    """A page layer's compact data as a GeoJSON FeatureCollection; properties: c style,
    r radius, n search name, t tooltip text, p popup text, v popup values (decoded)."""
    if "ref" in data:
        src = layers[data["ref"]]
        data = {**data, "g": src["g"], "x": src["x"], "s": src["s"], "p": data.get("p", src.get("p"))}
    feats = []
    p = data.get("p")
    for i in range(data["f"]):
        code = data["g"] if isinstance(data["g"], int) else data["g"][i]
        props: dict = {"c": data["c"][i] if "c" in data else 0}
        if "r" in data:
            props["r"] = data["r"][i]
        if data.get("n") and data["n"][i]:
            props["n"] = data["n"][i]
        if p is not None:
            props["p"] = _popup_text(p, i)
            props["v"] = [None if v is None else (p["d"][j][v] if p.get("d") and p["d"][j] else v)
                          for j, v in enumerate(p["v"][i])]
        if "t" in data:
            if data["t"][i]:
                props["t"] = data["t"][i]
        elif "tc" in data:
            props["t"] = f"{p['l'][data['tc']]}: {props['v'][data['tc']]}"
        feats.append({"type": "Feature", "properties": props,
                      "geometry": _geometry(code, data["x"][i], data["s"])})
    return {"type": "FeatureCollection", "features": feats}


def raw_layers(html: str) -> list[tuple[str, dict, dict]]:
    """(layer name as escaped for HTML, compact data, options) in page order."""
    return [(json.loads(m.group(1)), json.loads(m.group(2)), json.loads(m.group(3)))
            for m in _GEO.finditer(html)]


def geo_layers(html: str) -> dict[str, dict]:
    """Layer name (as escaped for HTML) -> the layer as a decoded FeatureCollection."""
    by_id: dict[str, dict] = {}
    out = {}
    for name, data, opts in raw_layers(html):
        if "id" in opts:
            by_id[opts["id"]] = data
        out[name] = decode(data, by_id)
    return out


def coords(fc: dict) -> np.ndarray:
    geoms = [shapely.geometry.shape(f["geometry"]) for f in fc["features"]]
    return shapely.get_coordinates(np.array(geoms, dtype=object))
