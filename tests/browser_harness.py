"""Headless Chromium for tests: system browser, all non-local network blocked and logged.

Used by every browser test (web maps, generated maps, screenshots) so the launch flags,
the blocking and the request accounting are the same everywhere.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from conftest import require, require_executable

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")

#: Opens the popup and tooltip of drawn features, at most ``arguments[0]`` per layer, evenly
#: spread (pass ``ALL`` for every one); returns how many opened and their texts.
OPEN_POPUPS = """
var cap = arguments[0], opened = 0, tips = 0, texts = [];
KG.layers.forEach(function (e) {
  var all = [];
  e.layer.eachLayer(function (l) { if (KG.map.hasLayer(l)) { all.push(l); } });
  var step = Math.max(1, Math.ceil(all.length / cap));
  for (var i = 0; i < all.length; i += step) {
    var l = all[i];
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
  }
});
return {opened: opened, tips: tips, texts: texts};
"""


ALL = 10**9


def open_popups(drv, cap: int = ALL) -> dict:
    return drv.execute_script(OPEN_POPUPS, cap)


def load_map(drv, path: Path, timeout_s: float = 15.0) -> None:
    """Open a map file (logs cleared first) and wait until the page's Leaflet map exists."""
    import time

    drv.get_log("performance")
    drv.get_log("browser")
    drv.get(path.as_uri())
    deadline = time.time() + timeout_s
    while time.time() < deadline and not drv.execute_script("return !!(window.KG && KG.map)"):
        time.sleep(0.1)


def _executable(path: str, name: str, package: str) -> str:
    return path if Path(path).exists() else require_executable(name, package)


@contextlib.contextmanager
def chromium_driver(width: int = 1200, height: int = 900):
    """A selenium Chrome driver on Debian's chromium; skips (fails under CI) without it."""
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
              "--disable-default-apps", "--disable-extensions", f"--window-size={width},{height}",
              f"--user-data-dir={profile}",
              "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    opts.set_capability("unhandledPromptBehavior", "ignore")
    drv = webdriver.Chrome(service=Service(drv_path), options=opts)
    drv.set_script_timeout(180)  # big maps on a loaded 2-core CI machine
    try:
        drv.execute_cdp_cmd("Network.enable", {})
        drv.execute_cdp_cmd("Network.setBlockedURLs",
                            {"urls": ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]})
        drv.get("about:blank")
        drv.get_log("performance")  # drop start-up noise (the new-tab page's own requests)
        drv.get_log("browser")
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def non_local_requests(drv) -> list[str]:
    """Every request since the last call that went (or tried to go) off this machine."""
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


def no_alert(drv) -> bool:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        _ = drv.switch_to.alert
    except NoAlertPresentException:
        return True
    return False
