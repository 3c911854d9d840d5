"""Render web maps in headless Debian Chromium: screenshots for reports, gallery thumbnails.

The system browser is driven through selenium with explicit paths to ``chromium`` and
``chromedriver`` (Debian packages ``chromium`` and ``chromium-driver``), so selenium never
tries to download a browser or driver. :func:`chromium` is the one place a browser is
started; the web-map browser tests reuse it (network blocking, console log capture).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError, MissingDependencyError
from ..io import atomic_path

#: Where Debian installs the browser and its driver; overridable for other systems.
CHROMIUM = os.environ.get("KECHUANG_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("KECHUANG_CHROMEDRIVER", "/usr/bin/chromedriver")
#: Flags for a quiet, reproducible headless browser that phones nobody.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless=new",
    "--no-sandbox",  # containers and CI run as root, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-dev-shm-usage",  # small /dev/shm in containers crashes the renderer
    "--hide-scrollbars",
    "--mute-audio",
    "--force-color-profile=srgb",
    "--font-render-hinting=none",
)
#: URL patterns blocked when ``block_network`` is set: everything but file:// and data:.
BLOCKED_URLS = ("http://*", "https://*", "ws://*", "wss://*", "ftp://*")
#: Settling time after the map reports ready: Leaflet fades tiles in over 200 ms.
SETTLE_S = 0.4

# The map is ready when the document has loaded, every Leaflet map has its view, no
# tile layer is still loading and every tile <img> has finished (loaded or failed).
# Pages without Leaflet are ready once loaded.
_READY_JS = """
if (document.readyState !== 'complete') return false;
if (document.fonts && document.fonts.status !== 'loaded') return false;
if (!document.querySelector('.leaflet-container')) return true;
if (typeof L === 'undefined') return false;
for (const key of Object.keys(window)) {
  let v; try { v = window[key]; } catch (e) { continue; }
  if (v instanceof L.Map) {
    if (!v._loaded) return false;
    for (const layer of Object.values(v._layers || {})) {
      if (layer instanceof L.GridLayer && layer._loading) return false;
    }
  }
}
for (const img of document.querySelectorAll('img.leaflet-tile')) {
  if (!img.complete) return false;
}
return true;
"""


def browser_available() -> tuple[bool, str]:
    """(True, "") when chromium and chromedriver exist; else (False, what to install)."""
    missing = []
    if not _executable(CHROMIUM):
        missing.append(f"{CHROMIUM} (Debian package chromium)")
    if not _executable(CHROMEDRIVER):
        missing.append(f"{CHROMEDRIVER} (Debian package chromium-driver)")
    if missing:
        return False, "missing " + " and ".join(missing)
    return True, ""


def _executable(path: str) -> bool:
    return bool(path) and (os.access(path, os.X_OK) or shutil.which(path) is not None)


@contextlib.contextmanager
def chromium(width: int = 1600, height: int = 1000, *, scale: float = 1.0,
             block_network: bool = False, page_timeout_s: float = 60.0) -> Iterator:
    """Start headless Chromium with a ``width`` x ``height`` CSS-pixel viewport; yield the driver.

    ``scale`` is the device pixel ratio (2 gives screenshots at twice the pixels).
    ``block_network`` fails every http(s)/ws request before it leaves the machine (local
    files still load), for offline maps and tests. Browser console messages are kept
    (``driver.get_log('browser')``). A temporary profile is removed afterwards.
    """
    ok, why = browser_available()
    if not ok:
        raise MissingDependencyError(
            f"headless Chromium is needed to render web maps: {why}; "
            "install with apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    if width <= 0 or height <= 0 or scale <= 0:
        raise InputError(f"viewport must be positive, got {width}x{height} at scale {scale}")
    profile = tempfile.mkdtemp(prefix="kechuang-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={int(width)},{int(height)}")
    if block_network:
        # Name resolution fails for every host: nothing reaches the network even if a
        # request slips past the URL block list (e.g. from a service worker).
        options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = None
    try:
        try:
            driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
        except WebDriverException as exc:
            raise MissingDependencyError(
                f"cannot start {CHROMIUM} with {CHROMEDRIVER}: {exc.msg or exc}; the "
                "chromium and chromium-driver packages must be installed at the same version"
            ) from exc
        driver.set_page_load_timeout(page_timeout_s)
        # The viewport, not the window, decides the screenshot size: pin it exactly.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": int(width), "height": int(height), "deviceScaleFactor": float(scale),
            "mobile": False})
        if block_network:
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": list(BLOCKED_URLS)})
        yield driver
    finally:
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def file_url(path: str | os.PathLike) -> str:
    """file:// URL of a local HTML file; InputError if it does not exist."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such HTML file")
    return path.resolve().as_uri()


def wait_for_map(driver, timeout_s: float = 20.0, poll_s: float = 0.1) -> bool:
    """Wait until the page (and any Leaflet map, its tiles) has rendered.

    Returns False when ``timeout_s`` passed first (e.g. tiles from an unreachable host);
    the page is then captured as it is, which still shows overlays and vector layers.
    """
    deadline = time.monotonic() + timeout_s
    stable = 0
    while time.monotonic() < deadline:
        try:
            ready = bool(driver.execute_script(_READY_JS))
        except Exception:  # page still navigating
            ready = False
        # Two consecutive ready polls: a tile layer may start its next batch right after.
        stable = stable + 1 if ready else 0
        if stable >= 2:
            time.sleep(SETTLE_S)
            return True
        time.sleep(poll_s)
    return False


def _capture(html_path: str | os.PathLike, width: int, height: int, wait_s: float,
             scale: float, block_network: bool) -> tuple[bytes, bool]:
    url = file_url(html_path)
    with chromium(width, height, scale=scale, block_network=block_network) as driver:
        driver.get(url)
        ready = wait_for_map(driver, timeout_s=wait_s)
        return driver.get_screenshot_as_png(), ready


def screenshot(html_path: str | os.PathLike, out_png: str | os.PathLike, width: int = 1600,
               height: int = 1000, wait_s: float = 20.0, *, scale: float = 1.0,
               block_network: bool = False) -> Path:
    """Render ``html_path`` in headless Chromium and write a PNG of the viewport atomically.

    The PNG is ``width*scale`` x ``height*scale`` pixels. ``wait_s`` bounds the wait for
    the map to render (tiles loaded or failed); after it, the page is captured as is.
    """
    from PIL import Image

    png, _ready = _capture(html_path, width, height, wait_s, scale, block_network)
    img = Image.open(io.BytesIO(png))
    want = (round(width * scale), round(height * scale))
    if img.size != want:  # a browser that ignored the metrics override: fit exactly
        img = img.convert("RGB").resize(want, Image.Resampling.LANCZOS)
    return _write_png(img, out_png)


def thumbnail(html_path: str | os.PathLike, out_png: str | os.PathLike, width: int = 480,
              height: int = 300, wait_s: float = 20.0, *, render_scale: int = 2,
              block_network: bool = True) -> Path:
    """A small PNG preview of a web map for the gallery page.

    The page is laid out at ``render_scale`` times the thumbnail size (so the map shows
    the same extent as on a screen) and downsampled, which keeps lines and labels crisp.
    Network is blocked by default: thumbnails must not depend on tile servers.
    """
    from PIL import Image

    png, _ready = _capture(html_path, width * render_scale, height * render_scale, wait_s,
                           1.0, block_network)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img = img.resize((int(width), int(height)), Image.Resampling.LANCZOS)
    return _write_png(img, out_png)


def _write_png(img, out_png: str | os.PathLike) -> Path:
    out_png = Path(out_png)
    if out_png.suffix.lower() != ".png":
        raise InputError(f"{out_png}: screenshots are PNG; use a .png file name")
    with atomic_path(out_png) as tmp:
        img.save(tmp, format="PNG", optimize=True)
    return out_png
