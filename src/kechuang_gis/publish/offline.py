"""Self-contained web maps: the scripts, stylesheets and icons a map needs, inlined.

Government intranets often block CDNs, so ``--offline`` maps carry Leaflet and its
plugins inside the HTML. The files are shipped with this package in ``assets/`` (copied
from the npm registry's packages at development time, see ``assets/LICENSES.md``) and
read from the installed package at run time: nothing is fetched when a map is made or
opened. Images referenced by the stylesheets become ``data:`` URIs.

Online maps reference the same versions on a CDN, so both kinds behave the same.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..errors import InputError


@dataclass(frozen=True)
class Asset:
    """One third-party file: where it is in assets/, its CDN twin and its provenance."""

    file: str
    kind: str  # "js" or "css"
    package: str
    version: str
    licence: str

    @property
    def cdn(self) -> str:
        path = _CDN_PATHS[self.file]
        return f"https://cdn.jsdelivr.net/npm/{self.package}@{self.version}/{path}"


_CDN_PATHS = {
    "leaflet.js": "dist/leaflet.js",
    "leaflet.css": "dist/leaflet.css",
    "Control.FullScreen.js": "Control.FullScreen.js",
    "Control.FullScreen.css": "Control.FullScreen.css",
    "leaflet-measure.min.js": "dist/leaflet-measure.min.js",
    "leaflet-measure.css": "dist/leaflet-measure.css",
}

#: Resource groups in load order: Leaflet first, then each plugin.
ASSETS: dict[str, tuple[Asset, ...]] = {
    "leaflet": (Asset("leaflet.css", "css", "leaflet", "1.9.4", "BSD-2-Clause"),
                Asset("leaflet.js", "js", "leaflet", "1.9.4", "BSD-2-Clause")),
    "fullscreen": (Asset("Control.FullScreen.css", "css", "leaflet.fullscreen", "3.0.0", "MIT"),
                   Asset("Control.FullScreen.js", "js", "leaflet.fullscreen", "3.0.0", "MIT")),
    "measure": (Asset("leaflet-measure.css", "css", "leaflet-measure", "2.1.7", "MIT"),
                Asset("leaflet-measure.min.js", "js", "leaflet-measure", "2.1.7", "MIT")),
}

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif",
         ".woff2": "font/woff2", ".woff": "font/woff"}
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^)'\"]+)\1\s*\)")


def _asset_dir():
    return resources.files("kechuang_gis.publish") / "assets"


@lru_cache(maxsize=64)
def asset_bytes(name: str) -> bytes:
    """Bytes of a packaged asset (by file name)."""
    path = _asset_dir() / name
    if not path.is_file():
        raise InputError(f"packaged web asset {name!r} is missing from {_asset_dir()}; "
                         "reinstall kechuang-gis")
    return path.read_bytes()


def data_uri(name: str) -> str:
    """A ``data:`` URI of a packaged image."""
    suffix = name[name.rfind("."):].lower()
    mime = _MIME.get(suffix)
    if mime is None:
        raise InputError(f"no MIME type known for asset {name!r}")
    return f"data:{mime};base64,{base64.b64encode(asset_bytes(name)).decode('ascii')}"


def inline_css(css: str) -> str:
    """Replace ``url(...)`` references to packaged images by data URIs."""
    def repl(m: re.Match) -> str:
        ref = m.group(2).strip()
        if ref.startswith(("data:", "#")):
            return m.group(0)
        return f"url({data_uri(ref.rsplit('/', 1)[-1])})"

    return _CSS_URL.sub(repl, css)


def _safe_inline(text: str, tag: str) -> str:
    # An inlined library must not close its own element early; none of ours does, but a
    # future update could, and then the page would break silently.
    if re.search(rf"</{tag}", text, re.IGNORECASE):
        raise InputError(f"an asset contains '</{tag}' and cannot be inlined safely")
    return text


def resource_tags(groups: tuple[str, ...], offline: bool) -> str:
    """HTML for the <head>: the resources of ``groups``, inlined or from the CDN."""
    out: list[str] = []
    for g in groups:
        for a in ASSETS[g]:
            if offline:
                text = asset_bytes(a.file).decode("utf-8")
                if a.kind == "css":
                    out.append(f"<style>/* {a.package} {a.version} */\n"
                               f"{_safe_inline(inline_css(text), 'style')}\n</style>")
                else:
                    out.append(f"<script>/* {a.package} {a.version} */\n"
                               f"{_safe_inline(text, 'script')}\n</script>")
                if a.file == "leaflet.js":
                    out.append(_default_icon_script())
            elif a.kind == "css":
                out.append(f'<link rel="stylesheet" href="{a.cdn}"/>')
            else:
                out.append(f'<script src="{a.cdn}"></script>')
    return "\n".join(out)


def _default_icon_script() -> str:
    # Leaflet finds its default marker images from a CSS url(); with a data: URI that
    # detection yields a relative file name the browser then requests. Plugins (the
    # measure tool) use default markers, so point them at data URIs explicitly.
    icons = {"iconUrl": data_uri("marker-icon.png"), "iconRetinaUrl": data_uri("marker-icon-2x.png"),
             "shadowUrl": data_uri("marker-shadow.png")}
    return ("<script>L.Icon.Default.imagePath = '';"
            f"L.Icon.Default.mergeOptions({json.dumps(icons)});</script>")


# A request-making reference: src/href attributes of elements that load something, CSS
# url() and @import. Plain links (<a href>) and XML namespaces load nothing.
_REMOTE_ATTR = re.compile(
    r"<(script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?\b(src|href|data)\s*=\s*"
    r"['\"]?\s*((?:https?:)?//[^'\" >]+)", re.IGNORECASE)
_REMOTE_CSS = re.compile(r"(?:url\(\s*['\"]?|@import\s+['\"])\s*((?:https?:)?//[^'\")]+)",
                         re.IGNORECASE)


def remote_references(html: str) -> list[str]:
    """Every URL in ``html`` that a browser would fetch from another host on load.

    Tile URL templates are not found here (they are JavaScript strings); a map with a
    tile basemap requests tiles by design.
    """
    refs = [m.group(3) for m in _REMOTE_ATTR.finditer(html)]
    refs += [m.group(1) for m in _REMOTE_CSS.finditer(html)]
    return sorted(set(refs))


#: This package's own map runtime (search box, legends, GeoJSON helper): always inlined,
#: it has no CDN twin.
RUNTIME = ("kechuang-map.css", "kechuang-map.js")


def runtime_tags() -> str:
    """The package's own map runtime, inlined."""
    css = asset_bytes(RUNTIME[0]).decode("utf-8")
    js = asset_bytes(RUNTIME[1]).decode("utf-8")
    return (f"<style>\n{_safe_inline(css, 'style')}\n</style>\n"
            f"<script>\n{_safe_inline(js, 'script')}\n</script>")
