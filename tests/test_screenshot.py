"""Screenshots of web maps in real headless Debian Chromium (no browser download).

A missing browser skips these tests locally and fails them under CI=true.
"""

from __future__ import annotations

import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
from conftest import require

from kechuang_gis.publish import browser

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium_ok():
    ok, why = browser.browser_available()
    require(ok, f"{why} (install Debian packages chromium and chromium-driver)")


def _rgb(path):
    from PIL import Image

    with Image.open(path) as img:
        return img.size, np.asarray(img.convert("RGB")).astype(int)


# A page whose every pixel we know: a red box at a known place on a pale background,
# Chinese text, and an image from a remote host that must never load.
PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<style>html,body{margin:0;background:#eef2f7;font-family:sans-serif}
#box{position:absolute;left:40px;top:30px;width:200px;height:100px;background:#c00000}</style>
</head><body><div id="box"></div><h1 style="position:absolute;left:40px;top:160px">环太湖科创圈</h1>
<img src="https://example.invalid/never.png" alt=""></body></html>"""


def test_screenshot_of_a_local_page(chromium_ok, tmp_path):
    html = tmp_path / "page.html"
    html.write_text(PAGE, encoding="utf-8")
    out = browser.screenshot(html, tmp_path / "shots" / "page.png", 640, 400, wait_s=10,
                             block_network=True)
    size, rgb = _rgb(out)
    assert size == (640, 400)
    # the red box where the CSS put it, the background elsewhere
    assert (np.abs(rgb[80, 140] - [0xC0, 0, 0]) <= 3).all()
    assert (np.abs(rgb[380, 600] - [0xEE, 0xF2, 0xF7]) <= 3).all()
    # text was drawn: dark pixels in the heading's area
    assert (rgb[160:230, 40:400].sum(axis=2) < 200).sum() > 200


def test_scale_doubles_the_pixels(chromium_ok, tmp_path):
    html = tmp_path / "page.html"
    html.write_text(PAGE, encoding="utf-8")
    out = browser.screenshot(html, tmp_path / "hi.png", 320, 200, wait_s=10, scale=2.0,
                             block_network=True)
    size, rgb = _rgb(out)
    assert size == (640, 400)
    assert (np.abs(rgb[2 * 80, 2 * 140] - [0xC0, 0, 0]) <= 3).all()


def test_thumbnail_size(chromium_ok, tmp_path):
    html = tmp_path / "page.html"
    html.write_text(PAGE, encoding="utf-8")
    out = browser.thumbnail(html, tmp_path / "thumb.png", 240, 150, wait_s=10)
    size, rgb = _rgb(out)
    assert size == (240, 150)
    assert rgb.std() > 5


def test_screenshot_of_a_generated_web_map(chromium_ok, tmp_path):
    webmap = pytest.importorskip("kechuang_gis.publish.webmap")
    from kechuang_gis.cli import main

    pts = gpd.GeoDataFrame({"name": ["苏州", "无锡", "嘉兴"], "v": [1.0, 2.0, 3.0]},
                           geometry=gpd.points_from_xy([120.62, 120.30, 120.76], [31.30, 31.57, 30.75]),
                           crs="EPSG:4326")
    wm = webmap.layer(pts, name="测试", measure="v", background=webmap.Background.load(),
                      basemap="none", offline=True)
    html = tmp_path / "map.html"
    wm.save(html)
    with browser.chromium(900, 600, block_network=True) as driver:
        driver.get(browser.file_url(html))
        assert browser.wait_for_map(driver, timeout_s=30)
        assert driver.execute_script("return document.querySelectorAll('.leaflet-container').length") == 1
    out = tmp_path / "map.png"
    assert main(["screenshot", str(html), "--out", str(out), "--width", "900", "--height", "600",
                 "--offline"]) == 0
    size, rgb = _rgb(out)
    assert size == (900, 600)
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50  # background layers were drawn


def test_missing_browser_is_a_clear_error(tmp_path):
    html = tmp_path / "page.html"
    html.write_text(PAGE, encoding="utf-8")
    env = dict(os.environ, KECHUANG_CHROMIUM=str(tmp_path / "no-chromium"))
    proc = subprocess.run([sys.executable, "-m", "kechuang_gis", "screenshot", str(html),
                           "--out", str(tmp_path / "x.png")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "chromium" in proc.stderr and "apt-get install" in proc.stderr
    assert not (tmp_path / "x.png").exists()
