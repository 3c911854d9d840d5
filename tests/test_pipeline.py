"""`kechuang-gis run` end to end: every product, the same files twice, every map in Chromium."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from browser_harness import chromium_driver, load_map, no_alert, non_local_requests, open_popups

from kechuang_gis.cli import main

pytestmark = pytest.mark.slow

MAP_KINDS = ("overview", "transport", "accessibility", "node_strength", "scenario")


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    out, maps = root / "outputs", root / "maps"
    # H3 resolution 6 (~36 km2 cells) keeps the test quick; the demo uses resolution 7.
    args = ["run", "--out", str(out), "--maps", str(maps), "--origins", "hex:6"]
    assert main(args) == 0
    first = {"outputs": _digest(out), "maps": _digest(maps)}
    assert main(args) == 0
    second = {"outputs": _digest(out), "maps": _digest(maps)}
    return out, maps, first, second


def test_every_product_is_written(run_dirs):
    out, maps, _, _ = run_dirs
    for rel in ("layers/layers.gpkg", "network/nodes.parquet", "network/edges.parquet", "network/meta.json",
                "accessibility/origins.parquet", "accessibility/isochrones.parquet",
                "accessibility/summary_by_county.csv", "accessibility/nearest_time_min.tif",
                "node_strength/node_strength.parquet", "node_strength/node_strength.csv",
                "node_strength/flows.parquet", "node_strength/city_matrix.csv",
                "node_strength/sensitivity.csv", "node_strength/meta.json",
                "scenario/delta.parquet", "scenario/summary.md", "summary.md", "run.json"):
        assert (out / rel).is_file(), rel
    for kind in MAP_KINDS:
        for rel in (f"{kind}.html", f"{kind}.png", f"thumbs/{kind}.png"):
            assert (maps / rel).is_file(), rel
    index = (maps / "index.html").read_text(encoding="utf-8")
    for kind in MAP_KINDS:
        assert f'href="{kind}.html"' in index and f'src="thumbs/{kind}.png"' in index
    origins = gpd.read_parquet(out / "accessibility/origins.parquet")
    assert origins.crs.to_epsg() == 4326 and origins["id"].is_unique
    # unreachable stays NaN, never 0
    assert (origins["nearest_time_min"].dropna() > 0).all()
    ns = pd.read_csv(out / "node_strength/node_strength.csv")
    assert ns["mass_source"].str.contains("proxy").all()
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "proxy" in summary and "Top nodes" in summary and "Accessibility by county" in summary


def test_running_twice_gives_the_same_files(run_dirs):
    _, _, first, second = run_dirs
    for part in ("outputs", "maps"):
        changed = sorted(k for k in first[part] if first[part][k] != second[part].get(k))
        assert set(first[part]) == set(second[part])
        assert changed == [], f"{part}: files differ between runs: {changed}"


@pytest.mark.browser
@pytest.mark.parametrize("kind", MAP_KINDS)
def test_generated_map_in_browser(run_dirs, driver, kind):
    _, maps, _, _ = run_dirs
    load_map(driver, maps / f"{kind}.html")
    info = driver.execute_script("""
        var drawn = 0;
        KG.map.eachLayer(function (l) { if (l.feature) { drawn += 1; } });
        return {leaflet: KG.map instanceof L.Map, layers: KG.layers.length, drawn: drawn,
                legend: (document.querySelector('.kg-legend') || {}).textContent || ''};
    """)
    assert info["leaflet"] and info["layers"] >= 2 and info["drawn"] > 10
    assert info["legend"].strip()
    res = open_popups(driver, 200)
    assert res["opened"] > 0 and no_alert(driver)
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    assert non_local_requests(driver) == []


@pytest.fixture(scope="module")
def driver():
    with chromium_driver() as drv:
        yield drv
