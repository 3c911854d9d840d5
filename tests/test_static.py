"""Static report maps: every kind renders to PNG/SVG/PDF at the requested size and DPI,
byte-identical twice, with Chinese text drawn from a CJK font (never tofu), and a clear
error naming fonts-noto-cjk when no CJK font exists.

Expectations are computed independently: pixel sizes from mm and dpi by hand, PDF and
SVG page sizes in points, glyph coverage and PostScript names with fontTools, the fonts
fontconfig knows from ``fc-list``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import require, require_executable

from kechuang_gis.errors import DataWarning, InputError, MissingDependencyError

static = pytest.importorskip("kechuang_gis.publish.static")
from kechuang_gis.publish import fonts  # noqa: E402

METRIC = "EPSG:4549"
WGS84 = "EPSG:4326"
SMALL = "150x100"  # mm: small pages keep the suite fast
SMALL_DPI = 96


def _has_cjk_font() -> bool:
    try:
        fonts.find_cjk_font()
        return True
    except MissingDependencyError:
        return False


@pytest.fixture(scope="module")
def cjk():
    require(_has_cjk_font(), "no CJK font (install Debian package fonts-noto-cjk)")
    return fonts.cjk_font()


# --- synthetic inputs on the real background ----------------------------------------------

@pytest.fixture(scope="module")
def background():
    from kechuang_gis.cli.export import load_background

    return load_background()


CENTRES = {  # lon, lat of city centres (rounded public coordinates)
    "苏州": (120.62, 31.30), "无锡": (120.30, 31.57), "常州": (119.97, 31.81),
    "湖州": (120.09, 30.89), "嘉兴": (120.76, 30.75), "宣城": (118.76, 30.94),
    "嘉定": (121.25, 31.38), "青浦": (121.12, 31.15),
}


def _points(names) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name_zh": list(names)},
                            geometry=gpd.points_from_xy(*zip(*(CENTRES[n] for n in names), strict=True)),
                            crs=WGS84)


@pytest.fixture(scope="module")
def network():
    names = list(CENTRES)
    pts = _points(names)
    nodes = pts.assign(id=np.arange(len(names)), kind=["station"] * 6 + ["interchange"] * 2,
                       name=names)
    links = [(0, 1, "road", "motorway", "operating"), (1, 2, "road", "motorway", "operating"),
             (0, 4, "road", "motorway", "under_construction"), (3, 4, "road", "trunk", "operating"),
             (0, 1, "rail", "hsr", "operating"), (1, 2, "rail", "hsr", "operating"),
             (0, 7, "rail", "intercity", "planned"), (5, 3, "rail", "conventional", "operating"),
             (6, 0, "road", "motorway", "operating")]
    rows = []
    for u, v, mode, cls, status in links:  # directed twins, as the Network stores them
        line = shapely.LineString([pts.geometry[u], pts.geometry[v]])
        for a, b, g in ((u, v, line), (v, u, line.reverse())):
            rows.append({"u": a, "v": b, "mode": mode, "class": cls, "status": status, "geometry": g})
    return gpd.GeoDataFrame(rows, crs=WGS84), nodes


def _hex_grid(spacing_m: float = 8000.0) -> gpd.GeoDataFrame:
    from kechuang_gis.layers import admin

    area = gpd.GeoSeries([admin.study_area()], crs=WGS84).to_crs(METRIC).iloc[0]
    x0, y0, x1, y1 = area.bounds
    r = spacing_m / np.sqrt(3)
    cells = []
    for j, y in enumerate(np.arange(y0, y1 + r, 1.5 * r)):
        for x in np.arange(x0 + (spacing_m / 2 if j % 2 else 0), x1 + spacing_m, spacing_m):
            ang = np.deg2rad(np.arange(30, 390, 60))
            cells.append(shapely.Polygon(np.c_[x + r * np.cos(ang), y + r * np.sin(ang)]))
    grid = gpd.GeoDataFrame(geometry=cells, crs=METRIC)
    return grid[grid.intersects(area)].reset_index(drop=True)


@pytest.fixture(scope="module")
def access():
    grid = _hex_grid()
    dest = _points(["苏州", "无锡", "嘉兴"]).to_crs(METRIC)
    c = grid.geometry.centroid
    d = np.min([c.distance(p) for p in dest.geometry], axis=0)
    grid["nearest_time_min"] = d / 1000.0 / 60.0 * 60.0 * 1.3  # 60 km/h with detour 1.3
    grid.loc[grid.index[:5], "nearest_time_min"] = np.nan  # unreachable cells
    grid["delta_nearest_time_min"] = -np.clip(20 - d / 5000.0, 0, None) + np.where(c.x > c.x.median(), 3.0, 0.0)
    iso = gpd.GeoDataFrame(
        [{"dest_id": n, "minutes": m, "geometry": p.buffer(m / 60 * 60_000 / 1.3)}
         for n, p in zip(["苏州", "无锡", "嘉兴"], dest.geometry, strict=True) for m in (15, 30)],
        crs=METRIC)
    return grid.to_crs(WGS84), iso.to_crs(WGS84), dest.to_crs(WGS84)


@pytest.fixture(scope="module")
def strength():
    names = list(CENTRES)
    nodes = _points(names)
    nodes["id"] = names
    nodes["composite_index"] = [1.0, 0.8, 0.6, 0.45, 0.5, 0.2, 0.35, 0.3]
    nodes["rank"] = nodes["composite_index"].rank(ascending=False, method="first").astype(int)
    nodes["tier"] = ["core", "core", "sub-core", "sub-core", "sub-core", "general", "general", "general"]
    flows = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            w = nodes["composite_index"][i] * nodes["composite_index"][j]
            if w > 0.15:
                flows.append({"i": names[i], "j": names[j], "w_ij": w,
                              "geometry": shapely.LineString([nodes.geometry[i], nodes.geometry[j]])})
    return nodes, gpd.GeoDataFrame(flows, crs=WGS84)


@pytest.fixture(scope="module")
def overview_inputs():
    from kechuang_gis.cli.export import load_overview

    return load_overview(None)


def _render(kind, background, inputs, out, **kw):
    kw.setdefault("size", SMALL)
    kw.setdefault("dpi", SMALL_DPI)
    if kind == "overview":
        places, structures = inputs["overview"]
        return static.render_overview(background, places, structures, out=out, **kw)
    if kind == "transport":
        edges, nodes = inputs["network"]
        return static.render_transport(background, edges, nodes, out=out, **kw)
    if kind == "accessibility":
        grid, iso, dest = inputs["access"]
        # Quantiles keeps repeated renders fast; the default scheme runs in the per-kind test.
        kw.setdefault("scheme", "Quantiles")
        return static.render_accessibility(background, grid, "nearest_time_min", iso,
                                           destinations=dest, out=out, **kw)
    if kind == "scenario-delta":
        grid, _, _ = inputs["access"]
        return static.render_scenario_delta(background, grid, "delta_nearest_time_min", out=out, **kw)
    if kind == "node-strength":
        nodes, flows = inputs["strength"]
        return static.render_node_strength(background, nodes, flows, out=out, **kw)
    grid, _, dest = inputs["access"]
    pts = dest.assign(jobs=[120.0, 80.0, 45.0])
    return static.render_layer(background, pts, column="jobs", label_col="name_zh", out=out,
                               title="用户图层", **kw)


@pytest.fixture(scope="module")
def inputs(overview_inputs, network, access, strength):
    return {"overview": overview_inputs, "network": network, "access": access, "strength": strength}


def _png_info(path: Path):
    from PIL import Image

    with Image.open(path) as img:
        return img.size, img.info.get("dpi"), np.asarray(img.convert("RGB"))


def _px(mm: float, dpi: float) -> int:
    return int(round(mm / 25.4 * dpi))


# --- sizes, DPI, formats -------------------------------------------------------------------

def test_parse_size():
    assert static.parse_size("A4") == (297.0, 210.0)
    assert static.parse_size("a3") == (420.0, 297.0)
    assert static.parse_size("A4-portrait") == (210.0, 297.0)
    assert static.parse_size("240x160") == (240.0, 160.0)
    assert static.parse_size("240.5X160mm") == (240.5, 160.0)
    for bad in ("A9", "letter", "10x10", "240x"):
        with pytest.raises(InputError):
            static.parse_size(bad)


@pytest.mark.parametrize("kind", static.KINDS)
def test_each_kind_renders_png_of_requested_size(kind, cjk, background, inputs, tmp_path):
    extra = {"scheme": "NaturalBreaks"} if kind == "accessibility" else {}
    out = _render(kind, background, inputs, tmp_path / f"{kind}.png", **extra)
    size, dpi, rgb = _png_info(out)
    assert size == (_px(150, SMALL_DPI), _px(100, SMALL_DPI))
    # PNG stores whole pixels per metre: 96 dpi reads back as 3780 px/m = 96.012 dpi.
    assert dpi is not None and dpi[0] == pytest.approx(SMALL_DPI, abs=0.05)
    # A map, not a blank page: many distinct colours and ink across the frame.
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 200
    assert (rgb.min(axis=2) < 100).mean() > 0.003
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
    if kind == "node-strength":  # tiers drawn in the shared style's colours
        from kechuang_gis.publish import style

        core = np.array([int(style.TIER_COLORS["core"][i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(rgb - core).max(axis=2) <= 16).sum() > 20


def test_a4_at_300_dpi(cjk, background, inputs, tmp_path):
    out = _render("overview", background, inputs, tmp_path / "a4.png", size="A4", dpi=300)
    size, dpi, _ = _png_info(out)
    assert size == (3508, 2480)  # 297 mm and 210 mm at 300 dpi, by hand
    assert dpi[0] == pytest.approx(300, abs=0.05)


def test_svg_and_pdf_pages_have_the_requested_size(cjk, background, inputs, tmp_path):
    svg = _render("transport", background, inputs, tmp_path / "t.svg", size="A3-portrait", dpi=150)
    head = svg.read_text(encoding="utf-8")[:2000]
    w = float(re.search(r'width="([\d.]+)pt"', head).group(1))
    h = float(re.search(r'height="([\d.]+)pt"', head).group(1))
    assert (w, h) == pytest.approx((297 / 25.4 * 72, 420 / 25.4 * 72), abs=0.01)
    pdf = _render("node-strength", background, inputs, tmp_path / "n.pdf", size="240x160", dpi=150)
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes())
    assert (float(box.group(1)), float(box.group(2))) == pytest.approx((240 / 25.4 * 72, 160 / 25.4 * 72), abs=0.01)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_output_is_deterministic(suffix, cjk, background, inputs, tmp_path):
    a = _render("accessibility", background, inputs, tmp_path / f"a{suffix}")
    b = _render("accessibility", background, inputs, tmp_path / f"b{suffix}")
    assert a.read_bytes() == b.read_bytes()


def test_bad_output_suffix_is_an_input_error(background, inputs, tmp_path):
    with pytest.raises(InputError, match=r"\.png"):
        _render("layer", background, inputs, tmp_path / "map.jpg")
    assert not (tmp_path / "map.jpg").exists()


# --- true scale ------------------------------------------------------------------------------

def test_map_is_metric_and_scale_bar_true(cjk, background):
    """Data units are EPSG:4549 metres (checked against geodesic distance) and the
    scale bar's segments add up to the length written on it."""
    from matplotlib.patches import Rectangle
    from pyproj import Geod, Transformer

    page = static.MapPage(background, title="比例尺", size=SMALL, dpi=SMALL_DPI)
    page.draw_background(city_labels=False, lake_labels=False)
    page._finish()
    # 50 km due east of Suzhou along the geodesic: its length on the map is 50 km.
    lon2, lat2, _ = Geod(ellps="GRS80").fwd(120.62, 31.30, 90.0, 50_000.0)
    tr = Transformer.from_crs(WGS84, METRIC, always_xy=True)
    (xa, xb), (ya, yb) = tr.transform([120.62, lon2], [31.30, lat2])
    assert np.hypot(xb - xa, yb - ya) == pytest.approx(50_000.0, rel=5e-4)
    bars = [p for p in page.ax.patches if isinstance(p, Rectangle) and p.get_zorder() == 31]
    total_m = sum(p.get_width() for p in bars)
    numbers = [float(t.get_text()) for t in page.ax.texts if re.fullmatch(r"\d+(\.\d+)?", t.get_text())]
    assert total_m == pytest.approx(max(numbers) * 1000.0)
    assert max(numbers) in (1, 2, 5, 10, 20, 50, 100, 200, 500)


# --- Chinese text: CJK font, no tofu ------------------------------------------------------

def _fc_list_files() -> set[str]:
    out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=True).stdout
    return {line.split(":")[0].strip() for line in out.splitlines() if line.strip()}


def test_cjk_glyphs_come_from_a_cjk_font(cjk, background, inputs, tmp_path):
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    require_executable("fc-list", "fontconfig")
    assert str(cjk.path) in _fc_list_files()  # a font fontconfig lists for Chinese
    title = "环太湖科创圈总览"
    pdf = _render("overview", background, inputs, tmp_path / "o.pdf")
    face = TTFont(str(cjk.path), fontNumber=cjk.index, lazy=True)
    cmap = face.getBestCmap()
    assert all(ord(ch) in cmap for ch in title)
    # The PDF embeds that very face (subset names are TAG+PostScriptName).
    ps_name = face["name"].getDebugName(6)
    embedded = set(re.findall(rb"/BaseFont /(?:[A-Z]{6}\+)?([\w-]+)", pdf.read_bytes()))
    assert ps_name.encode() in embedded
    # And matplotlib resolves the family our maps use to that file.
    with static._rc_context(static._rc_params()):
        import matplotlib

        family = matplotlib.rcParams["font.family"]
        found = font_manager.findfont(FontProperties(family=family), fallback_to_default=False)
    assert Path(found) == cjk.path


def _empty_fontconfig(tmp_path: Path) -> dict:
    fc_dir = tmp_path / "fc"
    (fc_dir / "fonts").mkdir(parents=True)
    conf = fc_dir / "fonts.conf"
    conf.write_text(f"<?xml version='1.0'?>\n<fontconfig><dir>{fc_dir / 'fonts'}</dir>"
                    f"<cachedir>{fc_dir / 'cache'}</cachedir></fontconfig>\n", encoding="utf-8")
    env = dict(os.environ, FONTCONFIG_FILE=str(conf), FONTCONFIG_PATH=str(fc_dir))
    env.pop("KECHUANG_CJK_FONT", None)
    return env


def test_missing_font_is_a_clear_error(tmp_path, monkeypatch):
    require_executable("fc-list", "fontconfig")
    env = _empty_fontconfig(tmp_path)
    for key in ("FONTCONFIG_FILE", "FONTCONFIG_PATH"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.delenv("KECHUANG_CJK_FONT", raising=False)
    with pytest.raises(MissingDependencyError, match="fonts-noto-cjk"):
        fonts.find_cjk_font()


def test_missing_font_fails_the_export_without_writing(tmp_path):
    """The CLI in a fresh process with an empty fontconfig: exit 2, the package named,
    no image (a Chinese map is never drawn with boxes)."""
    require_executable("fc-list", "fontconfig")
    out = tmp_path / "o.png"
    proc = subprocess.run([sys.executable, "-m", "kechuang_gis", "export", "overview", "--out", str(out),
                           "--size", SMALL, "--dpi", "50"],
                          env=_empty_fontconfig(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "fonts-noto-cjk" in proc.stderr
    assert not out.exists()


def test_undrawable_label_characters_are_dropped_with_a_warning(cjk, background, tmp_path):
    # The labelled point sits mid-frame, so its label is placed (not dropped for space).
    pts = gpd.GeoDataFrame({"label": ["", "苏州\U0001FAE0", ""]},
                           geometry=gpd.points_from_xy([119.9, 120.62, 121.3], [30.8, 31.30, 31.8]),
                           crs=WGS84)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        out = static.render_layer(background, pts, label_col="label", out=tmp_path / "l.svg",
                                  size=SMALL, dpi=SMALL_DPI, title="标注")
    msgs = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert any("1 labels with characters" in m and "\U0001FAE0" in m for m in msgs)
    assert out.exists()


def test_font_env_override(cjk, monkeypatch, tmp_path):
    monkeypatch.setenv("KECHUANG_CJK_FONT", str(cjk.path))
    assert fonts.find_cjk_font().path == cjk.path
    not_cjk = tmp_path / "x.ttf"
    not_cjk.write_bytes(b"not a font")
    monkeypatch.setenv("KECHUANG_CJK_FONT", str(not_cjk))
    with pytest.raises(MissingDependencyError, match="no Chinese glyphs"):
        fonts.find_cjk_font()


# --- CLI ---------------------------------------------------------------------------------------

def test_cli_export_layer_from_csv(cjk, tmp_path):
    from kechuang_gis.cli import main

    csv = tmp_path / "sites.csv"
    pd.DataFrame({"id": ["a", "b", "c"], "name": ["苏州站", "无锡站", "嘉兴站"],
                  "lon": [120.61, 120.30, 120.76], "lat": [31.33, 31.59, 30.76],
                  "jobs": [10.0, 20.0, 30.0]}).to_csv(csv, index=False)
    out = tmp_path / "maps" / "sites.png"
    code = main(["export", "layer", "--input", str(csv), "--measure", "jobs", "--label-col", "name",
                 "--out", str(out), "--size", "120x90", "--dpi", "72"])
    assert code == 0
    assert _png_info(out)[0] == (_px(120, 72), _px(90, 72))
    assert main(["export", "layer", "--input", str(csv), "--out", str(tmp_path / "x.gif")]) == 2
    assert main(["export", "accessibility", "--out", str(tmp_path / "x.png")]) == 2  # needs --input
