"""Folium web maps of the region: overview, transport, accessibility, node strength, any layer.

Publishers never compute: every function takes the GeoDataFrames to draw (WGS84) and
only reshapes them for display. :class:`WebMap` is the generic builder the named maps
use; it gives every map a layer control, legends, a scale bar, fullscreen, a measure
tool, a search box over place names, the attribution of every data source and an initial
view fitted to the data.

Display preparation (one path for every layer, :meth:`WebMap.prepare`): geometries are
simplified to the display scale in EPSG:4549, shifted to GCJ-02 when the basemap is AMap
(whose tiles are GCJ-02: without the shift features sit 300-700 m off their streets),
and coordinates are rounded to 5 decimals (about 1 m).

Security: every string that comes from data reaches the page through one of two
encoders: :func:`esc` for HTML (popups, tooltips, legends, layer names, attributions)
and :func:`js_json` for data embedded in <script> (which escapes ``<``, ``>`` and ``&``
so that ``</script>`` in a name cannot end the script). The page's runtime writes search
results with ``textContent`` only.
"""

from __future__ import annotations

import html as _html
import io as _io
import json
import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import folium
import folium.plugins
import folium.raster_layers
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template

from .. import crs as _crs
from ..errors import DataWarning, InputError
from ..io import atomic_path
from ..settings import METRIC_CRS, REGION_BBOX, WGS84
from . import offline as _offline
from . import style as S
from .background import Background

BASEMAPS = ("osm", "carto", "amap", "tianditu", "none")
#: Environment variable holding the Tianditu browser key (天地图 token).
TIANDITU_ENV = "TIANDITU_KEY"
#: Simplification tolerance (metres, EPSG:4549) for display: below a pixel at zoom 11.
SIMPLIFY_M = 60.0
#: Decimals of coordinates in the page: 1e-5 degrees is about 1 m.
PRECISION = 5
#: Largest side (pixels) of a raster overlay image.
RASTER_MAX_PX = 1200
#: Layers with at least this many features are drawn on a canvas instead of as SVG.
CANVAS_MIN_FEATURES = 2000

_TILES = {
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "abc", 19, ("osm",)),
    "carto": ("https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png", "abcd", 20,
              ("osm", "carto")),
    "amap": ("https://webrd0{s}.is.autonavi.com/appmaptile?lang={lang}&size=1&scale=1&style=8"
             "&x={x}&y={y}&z={z}", "1234", 18, ("amap",)),
    "tianditu": ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                 "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                 "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}", "01234567", 18,
                 ("tianditu",)),
}


# --- encoders ------------------------------------------------------------------------
def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and arrays
        return False


def esc(value: object) -> str:
    """HTML-escape any value for the page ('' for missing values)."""
    if _is_missing(value):
        return ""
    if isinstance(value, float | np.floating):
        return _html.escape(_fmt_num(float(value)))
    return _html.escape(str(value), quote=True)


def _fmt_num(x: float) -> str:
    if not math.isfinite(x):
        return ""
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}" if abs(x) >= 10000 else str(int(x))
    return f"{x:,.3g}" if abs(x) < 1 else f"{x:,.2f}".rstrip("0").rstrip(".")


_JS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}


def js_json(obj: object) -> str:
    """JSON for embedding in a <script>: no '</script>', no line separators, no NaN."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, rep in _JS_ESCAPES.items():
        text = text.replace(ch, rep)
    return text


@dataclass
class Popups:
    """The popup tables of a layer, drawn in the browser with ``textContent``.

    Column labels are stored once per layer and each feature carries only its values,
    which keeps large layers small and leaves no HTML in the data. Per feature:
    ``rows[i]`` (one value per label; None is left out of the table), and optionally a
    title, a subtitle and a titled list (``(heading, [items])``).
    """

    labels: Sequence[str]
    rows: Sequence[Sequence[object]]
    titles: Sequence[object] | None = None
    subtitles: Sequence[object] | None = None
    lists: Sequence[tuple[str, Sequence[str]] | None] | None = None

    @classmethod
    def table(cls, df: pd.DataFrame, cols: Sequence[str], lang: str, *,
              labels: Sequence[str] | None = None, titles: Sequence[object] | None = None) -> Popups:
        """Popups of the columns ``cols`` of ``df``, rounded for reading (:func:`display_values`)."""
        columns = [display_values(df[c], str(c), lang) for c in cols]
        rows = [list(r) for r in zip(*columns, strict=True)] if columns else [[] for _ in range(len(df))]
        return cls([S.label(c, lang) for c in cols] if labels is None else list(labels), rows,
                   titles=titles)

    def column(self, label: str) -> int:
        return list(self.labels).index(label)


#: Decimals kept in popups by column name ending (display only; data files keep all).
DECIMALS = (("_time_min", 1), ("_min", 1), ("minutes", 1), ("_km", 2), ("_m", 0), ("_m2", 0),
            ("_s", 0))
#: Significant digits kept for other non-integer values.
SIGNIFICANT = 4


def _decimals(name: str) -> int | None:
    n = name.lower()
    for suffix, d in DECIMALS:
        if n.endswith(suffix):
            return d
    return 1 if "time" in n.split("_") else None


def display_values(values: Iterable[object], name: str = "", lang: str = "zh") -> list[object]:
    """Values as a popup shows them: numbers rounded (1 decimal for minutes, 0 for metres,
    else 4 significant digits; integral values as integers), booleans as yes/no, missing
    values as None, everything else as text."""
    arr = pd.Series(list(values) if not isinstance(values, pd.Series) else values.to_numpy(), dtype=object)
    num = pd.to_numeric(arr, errors="coerce")
    numeric_kind = arr.map(lambda v: isinstance(v, int | float | np.integer | np.floating)
                           and not isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
    d = _decimals(name)
    out: list[object] = []
    for v, x, isnum in zip(arr, num.to_numpy(dtype=float), numeric_kind, strict=True):
        if _is_missing(v):
            out.append(None)
        elif isinstance(v, bool | np.bool_):
            out.append(S.label("yes" if v else "no", lang))
        elif isnum:
            if not math.isfinite(x):
                out.append(None)
                continue
            r = round(x, d) if d is not None else (float(f"{x:.{SIGNIFICANT}g}") if x else 0.0)
            out.append(int(r) if r == int(r) and abs(r) < 2**53 else r)
        else:
            out.append(str(v))
    return out


def _popup_json(p: Popups, rows: np.ndarray) -> dict:
    """The popup part of a layer's data for the features ``rows`` (JSON-ready)."""
    labels = [str(x) for x in p.labels]
    values = [list(p.rows[j]) for j in rows]
    for r in values:
        if len(r) != len(labels):
            raise InputError(f"a popup row has {len(r)} values for {len(labels)} labels")
    out: dict = {"l": labels, "v": values}
    # Repeated texts (names of nearest places, statuses) are stored once per column.
    dicts: list[list[str] | None] = []
    for j in range(len(labels)):
        col = [r[j] for r in values]
        texts = [v for v in col if v is not None]
        uniq = list(dict.fromkeys(texts))
        if texts and all(isinstance(v, str) for v in texts) and len(values) >= 20 and len(uniq) * 2 <= len(texts):
            code = {t: i for i, t in enumerate(uniq)}
            for r in values:
                if r[j] is not None:
                    r[j] = code[r[j]]
            dicts.append(uniq)
        else:
            dicts.append(None)
    if any(d is not None for d in dicts):
        out["d"] = dicts
    for key, seq in (("h", p.titles), ("s", p.subtitles)):
        if seq is not None:
            out[key] = [None if _is_missing(seq[j]) else str(seq[j]) for j in rows]
    if p.lists is not None:
        out["x"] = [None if not p.lists[j] else [str(p.lists[j][0]), [str(t) for t in p.lists[j][1]]]
                    for j in rows]
    return out


# --- compact geometry -----------------------------------------------------------------
#: Geometry type codes of the page data (kechuang-map.js decodes them).
_GEOM_CODES = {"Point": 1, "LineString": 2, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5,
               "MultiPolygon": 6, "GeometryCollection": 7}
_SCALE = 10 ** PRECISION


def _path(coords, closed: bool = False) -> list[int]:
    q = np.rint(np.asarray(coords, dtype=float)[:, :2] * _SCALE).astype(np.int64)
    if closed and len(q) > 1 and (q[0] == q[-1]).all():
        q = q[:-1]  # rings are stored open: the browser closes them
    d = q.copy()
    d[1:] -= q[:-1]
    return d.ravel().tolist()


def encode_geometry(g) -> tuple[int, list]:
    """(type code, integer delta-coded coordinates) of a shapely geometry.

    Coordinates are integers of 1e-5 degree (the display precision), each part starting
    absolute and continuing as differences: a hexagon costs ~60 characters instead of
    ~200 as GeoJSON text.
    """
    t = g.geom_type
    code = _GEOM_CODES.get(t)
    if code is None:
        raise InputError(f"cannot draw geometry type {t}")
    if t in ("Point", "LineString"):
        return code, _path(g.coords)
    if t == "Polygon":
        return code, [_path(r.coords, True) for r in (g.exterior, *g.interiors)]
    if t == "GeometryCollection":
        return code, [list(encode_geometry(part)) for part in g.geoms]
    return code, [encode_geometry(part)[1] for part in g.geoms]


# --- background ----------------------------------------------------------------------
# --- folium elements -----------------------------------------------------------------
class _GeoLayer(Layer):
    """An overlay drawn by the page runtime (KG.geo) from compact data and a style table."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = KG.geo({{ this._parent.get_name() }}, {{ this.js_name }}, {{ this.js_data }}, {{ this.js_opts }});
            {%- if this.show %}
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
            {%- endif %}
        {% endmacro %}
        """)

    def __init__(self, name_html: str, data: dict, opts: dict, show: bool = True,
                 control: bool = True, overlay: bool = True):
        super().__init__(name=name_html, overlay=overlay, control=control, show=show)
        self._name = "GeoLayer"
        self.js_name = js_json(name_html)
        self.js_data = js_json(data)
        self.js_opts = js_json(opts)


class _Call(MacroElement):
    """``fn(map, *args)`` in the page script, arguments encoded with js_json."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            {{ this.fn }}({{ this._parent.get_name() }}{% for a in this.args %}, {{ a }}{% endfor %});
        {% endmacro %}
        """)

    def __init__(self, fn: str, *args: object):
        super().__init__()
        self._name = "Call"
        self.fn = fn
        self.args = [js_json(a) for a in args]


@dataclass
class LegendItem:
    """A legend row: a swatch (kind 'fill' | 'line' | 'circle', Leaflet style) and a label."""

    kind: str
    style: dict
    label: str


@dataclass
class _LegendSection:
    title: str
    items: list[LegendItem] = field(default_factory=list)
    note: str = ""


def _swatch(item: LegendItem) -> str:
    s = item.style
    color = esc(s.get("color", "#333"))
    fill = esc(s.get("fillColor", s.get("color", "#999")))
    fo = float(s.get("fillOpacity", 0.6)) if s.get("fill", True) else 0.0
    dash = esc(s.get("dashArray", ""))
    w = float(s.get("weight", 1.0))
    if item.kind == "line":
        return (f'<svg width="30" height="12"><line x1="1" y1="6" x2="29" y2="6" stroke="{color}" '
                f'stroke-width="{min(w, 6):g}" stroke-dasharray="{dash}"/></svg>')
    if item.kind == "circle":
        r = min(float(s.get("radius", 5)), 9)
        return (f'<svg width="20" height="20"><circle cx="10" cy="10" r="{r:g}" fill="{fill}" '
                f'fill-opacity="{fo:g}" stroke="{color}" stroke-width="{min(w, 2):g}" '
                f'stroke-dasharray="{dash}"/></svg>')
    return (f'<svg width="22" height="14"><rect x="1" y="1" width="20" height="12" fill="{fill}" '
            f'fill-opacity="{max(fo, 0.25):g}" stroke="{color}" stroke-width="{min(w, 2):g}" '
            f'stroke-dasharray="{dash}"/></svg>')


# --- the builder ---------------------------------------------------------------------
class WebMap:
    """A folium map with the project's controls, encoders and display preparation.

    Parameters
    ----------
    title : the map's title (shown top right, and the page title).
    lang : 'zh' (default) or 'en' for every label the map writes.
    basemap : one of :data:`BASEMAPS`; 'amap' shifts every overlay to GCJ-02.
    offline : inline every script, stylesheet and icon (see :mod:`.offline`).
    simplify_m : display simplification tolerance in metres (EPSG:4549).
    """

    def __init__(self, title: str, *, lang: str = "zh", basemap: str = "osm",
                 offline: bool = False, simplify_m: float = SIMPLIFY_M, subtitle: str = ""):
        self.lang = S.check_lang(lang)
        if basemap not in BASEMAPS:
            raise InputError(f"unknown basemap {basemap!r}: use one of {', '.join(BASEMAPS)}")
        self.basemap = basemap
        self.offline = bool(offline)
        self.simplify_m = float(simplify_m)
        self.datum = "gcj02" if basemap == "amap" else "wgs84"
        self.title = title
        self.subtitle = subtitle
        self.sources: list[str] = []
        self.layers: list[tuple[str, int]] = []  # (layer name, feature count) for reports/tests
        self._legend: list[_LegendSection] = []
        self._bounds: list[tuple[float, float, float, float]] = []
        self._fit: tuple[float, float, float, float] | None = None
        self._layer_rows: dict[str, int] = {}
        self._layer_keep: dict[str, np.ndarray] = {}
        self.m = folium.Map(location=[31.2, 120.5], zoom_start=8, tiles=None,
                            control_scale=False, prefer_canvas=False, zoom_control=True)
        # The page's resources are added by render() (inline or CDN), not by folium.
        self.m.default_js = []
        self.m.default_css = []
        self._add_tiles()

    # basemaps ------------------------------------------------------------------------
    def _add_tiles(self) -> None:
        if self.basemap == "none":
            return
        url, subdomains, max_zoom, sources = _TILES[self.basemap]
        self.sources.extend(sources)
        attr = S.attribution(sources, self.lang)
        if self.basemap == "amap":
            url = url.replace("{lang}", "zh_cn" if self.lang == "zh" else "en")
            self._tile(url, subdomains, max_zoom, attr)
        elif self.basemap == "tianditu":
            key = os.environ.get(TIANDITU_ENV, "").strip()
            if not key:
                raise InputError(
                    f"the tianditu basemap needs a Tianditu browser key in the environment "
                    f"variable {TIANDITU_ENV} (apply at https://console.tianditu.gov.cn/); "
                    "or use --basemap osm|carto|amap|none")
            # CGCS2000 tiles: within a metre of WGS84, so no datum shift is applied.
            base = url.replace("{key}", key)
            self._tile(base.replace("{layer}", "vec"), subdomains, max_zoom, attr)
            note = "cva" if self.lang == "zh" else "eva"
            self._tile(base.replace("{layer}", note), subdomains, max_zoom, attr, overlay=True)
        else:
            self._tile(url, subdomains, max_zoom, attr)

    def _tile(self, url: str, subdomains: str, max_zoom: int, attr: str, overlay: bool = False):
        folium.TileLayer(tiles=url, attr=esc(attr), name=esc(S.label("background", self.lang)),
                         subdomains=subdomains, max_zoom=max_zoom, overlay=overlay,
                         control=False).add_to(self.m)

    # display preparation -------------------------------------------------------------
    def prepare(self, gdf: gpd.GeoDataFrame, simplify: bool = True) -> gpd.GeoDataFrame:
        """WGS84 -> simplified at display scale -> display datum -> rounded coordinates."""
        if gdf.crs is None:
            raise InputError("a map layer has no CRS; declare it (WGS84 is EPSG:4326)")
        gdf = gdf.to_crs(WGS84)
        keep = gdf.geometry.notna() & ~gdf.geometry.is_empty
        gdf = gdf.loc[keep].copy()
        if gdf.empty:
            return gdf
        geoms = np.asarray(gdf.geometry.values)
        if simplify and self.simplify_m > 0:
            nonpoint = ~np.isin(shapely.get_type_id(geoms), (0, 4))
            if nonpoint.any():
                metric = gpd.GeoSeries(geoms[nonpoint], crs=WGS84).to_crs(METRIC_CRS)
                simple = metric.simplify(self.simplify_m, preserve_topology=True).to_crs(WGS84)
                geoms = geoms.copy()
                geoms[nonpoint] = np.asarray(simple.values)
        if self.datum != "wgs84":
            geoms = _crs.convert(gpd.GeoSeries(geoms, crs=WGS84), "wgs84", self.datum).values
        scale = 10.0 ** PRECISION
        geoms = shapely.transform(np.asarray(geoms), lambda xy: np.round(xy * scale) / scale)
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=WGS84))
        return gdf

    def to_display(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 coordinates to the display datum (GCJ-02 on AMap)."""
        if self.datum == "wgs84":
            return np.asarray(lon, float), np.asarray(lat, float)
        return _crs.convert_xy(lon, lat, "wgs84", self.datum)

    # layers ----------------------------------------------------------------------------
    def add_geo(self, name: str, gdf: gpd.GeoDataFrame, *, styles: Sequence[dict],
                style_idx: Sequence[int] | None = None, popups: Popups | None = None,
                tooltips: Sequence[object] | None = None, tip_col: int | None = None,
                names: Sequence[object] | None = None, radii: Sequence[float] | None = None,
                show: bool = True, control: bool = True, interactive: bool = True,
                simplify: bool = True, fit: bool = False, layer_id: str | None = None,
                same_as: str | None = None, pane: str | None = None,
                pane_z: int | None = None) -> _GeoLayer | None:
        """Add an overlay.

        All data is plain text or numbers (escaped by the browser's ``textContent``):
        ``popups`` a :class:`Popups` table, ``tooltips`` one text per feature or
        ``tip_col`` the popup column shown as tooltip, ``names`` the texts the search box
        finds. Per-row sequences are aligned with ``gdf``'s rows. ``layer_id`` names the
        layer for :meth:`swipe` and for ``same_as``: a later layer of the same rows that
        reuses this one's geometry and popups (only its styles are stored). ``pane``: a
        map pane of its own (z-index ``pane_z``). Returns None for empty data.
        """
        n0 = len(gdf)
        per_row = {"style_idx": style_idx, "tooltips": tooltips, "names": names, "radii": radii,
                   "popups": popups.rows if popups is not None else None}
        for key, seq in per_row.items():
            if seq is not None and len(seq) != n0:
                raise InputError(f"layer {name!r}: {key} has {len(seq)} values for {n0} features")
        if tip_col is not None and popups is None:
            raise InputError(f"layer {name!r}: tip_col needs popups")
        data: dict = {}
        if same_as is not None:
            if self._layer_rows.get(same_as) != n0:
                raise InputError(f"layer {name!r}: same_as={same_as!r} needs an earlier layer of "
                                 f"the same {n0} rows")
            rows = self._layer_keep[same_as]
            data["ref"] = same_as
            bounds = None
        else:
            if gdf.crs is None:
                raise InputError(f"layer {name!r} has no CRS; declare it (WGS84 is EPSG:4326)")
            valid = (gdf.geometry.notna() & ~gdf.geometry.is_empty).to_numpy()
            disp = self.prepare(gdf, simplify=simplify)
            if disp.empty:
                return None
            rows = np.flatnonzero(valid)
            enc = [encode_geometry(g) for g in disp.geometry.values]
            codes = [c for c, _ in enc]
            data.update(s=_SCALE, g=codes[0] if len(set(codes)) == 1 else codes, x=[x for _, x in enc])
            bounds = tuple(disp.total_bounds)
        data["f"] = len(rows)
        if style_idx is not None:
            data["c"] = [int(style_idx[j]) for j in rows]
        if radii is not None:
            data["r"] = [round(float(radii[j]), 1) if np.isfinite(radii[j]) else None for j in rows]
        if popups is not None and same_as is None:
            data["p"] = _popup_json(popups, rows)
        if tooltips is not None:
            data["t"] = ["" if _is_missing(tooltips[j]) else str(tooltips[j]) for j in rows]
        elif tip_col is not None:
            data["tc"] = int(tip_col)
        if names is not None:
            data["n"] = ["" if _is_missing(names[j]) else str(names[j]) for j in rows]
        opts: dict = {"styles": list(styles), "interactive": interactive}
        if len(rows) >= CANVAS_MIN_FEATURES:
            opts["canvas"] = True  # thousands of SVG paths make panning slow
        if layer_id is not None:
            if layer_id in self._layer_rows:
                raise InputError(f"layer id {layer_id!r} is used twice")
            opts["id"] = layer_id
            self._layer_rows[layer_id] = n0
            self._layer_keep[layer_id] = rows
        if pane is not None:
            opts["pane"] = pane
            opts["paneZ"] = int(pane_z or 410)
        layer = _GeoLayer(esc(name), data, opts, show=show, control=control)
        layer.add_to(self.m)
        self.layers.append((name, len(rows)))
        if fit and bounds is not None:
            self._bounds.append(bounds)
        return layer

    def add_raster(self, name: str, tif: str | os.PathLike, classes: S.Classes,
                   opacity: float = 0.7, show: bool = True) -> None:
        """A GeoTIFF as an image overlay, coloured by ``classes`` (reprojected for display)."""
        uri, (w, s, e, n) = raster_png(tif, classes)
        (w2, e2), (s2, n2) = self.to_display([w, e], [s, n])
        folium.raster_layers.ImageOverlay(image=uri, bounds=[[float(s2), float(w2)], [float(n2), float(e2)]],
                                          name=esc(name), opacity=opacity, show=show,
                                          interactive=False, zindex=2).add_to(self.m)
        self.layers.append((name, 1))

    def legend(self, title: str, items: Sequence[LegendItem], note: str = "") -> None:
        self._legend.append(_LegendSection(title, list(items), note))

    def panel(self, html: str, position: str = "topright") -> None:
        """A side panel of pre-escaped HTML (e.g. a ranked table)."""
        _Call("KG.box", html, position, "kg-panel").add_to(self.m)

    def add_sources(self, keys: Iterable[str]) -> None:
        for k in keys:
            if k not in self.sources:
                self.sources.append(k)

    def swipe(self, left: str, right: str, *, delta: str | None = None, left_pane: str,
              right_pane: str, mode: str = "delta") -> None:
        """Compare two layers (``layer_id`` s, each in its own pane) with a swipe divider.

        A mode switch shows either the layer ``delta`` or the two sides; the page starts
        in ``mode`` ('delta' or 'compare').
        """
        for key in (left, right, *([delta] if delta else [])):
            if key not in self._layer_rows:
                raise InputError(f"swipe: no layer with id {key!r}")
        lang = self.lang
        labels = {"left": S.label("base", lang), "right": S.label("scenario", lang), "handle": S.label("swipe_handle", lang),
                  "delta": S.label("change", lang), "compare": f"{S.label('swipe', lang)}"}
        _Call("KG.swipe", {"left": left, "right": right, "delta": delta, "leftPane": left_pane,
                           "rightPane": right_pane, "labels": labels, "mode": mode}).add_to(self.m)

    def fit_to(self, bounds_wgs84: tuple[float, float, float, float]) -> None:
        """Initial view: these WGS84 bounds (converted to the display datum)."""
        w, s, e, n = bounds_wgs84
        (w2, e2), (s2, n2) = self.to_display([w, e], [s, n])
        self._fit = (float(w2), float(s2), float(e2), float(n2))

    # background ----------------------------------------------------------------------
    def add_background(self, bg: Background | None, *, full: bool | None = None) -> None:
        """Admin units and water; with no tiles (``full``) also land and rivers."""
        if bg is None:
            return
        full = self.basemap == "none" if full is None else full
        lang = self.lang
        name_col = "name" if lang == "zh" else "name_en"

        def names(gdf):
            col = name_col if name_col in gdf.columns else ("name" if "name" in gdf.columns else None)
            return gdf[col].tolist() if col else None

        if full and bg.context is not None and len(bg.context):
            st = S.BACKGROUND["admin_context"].leaflet()
            self.add_geo(S.label("admin_context", lang), bg.context, styles=[st],
                         tooltips=names(bg.context), interactive=True, control=False)
        if bg.county is not None and len(bg.county):
            st = S.BACKGROUND["admin_county"].leaflet()
            self.add_geo(S.label("admin_county", lang), bg.county, styles=[st],
                         tooltips=names(bg.county), names=names(bg.county), show=full)
        if bg.city is not None and len(bg.city):
            st = S.BACKGROUND["admin_city"].leaflet()
            if not full:
                st = dict(st, fillOpacity=0.0, fill=False)
            self.add_geo(S.label("admin_city", lang), bg.city, styles=[st],
                         tooltips=names(bg.city), names=names(bg.city), fit=True)
        if full and bg.rivers is not None and len(bg.rivers):
            nm = "name_zh" if lang == "zh" else "name_en"
            self.add_geo(S.label("rivers", lang), bg.rivers, styles=[S.RIVER_STYLE.leaflet()],
                         tooltips=bg.rivers[nm].tolist() if nm in bg.rivers.columns else None)
        if bg.lakes is not None and len(bg.lakes):
            nm = "name_zh" if lang == "zh" else "name_en"
            tips = bg.lakes[nm].tolist() if nm in bg.lakes.columns else None
            self.add_geo(S.label("lakes", lang), bg.lakes, styles=[S.BACKGROUND["lakes"].leaflet()],
                         tooltips=tips, names=tips)
            self.add_sources(["natural_earth"])
        self.add_sources(["amap_boundaries"])

    # output ----------------------------------------------------------------------------
    def _finish(self) -> None:
        lang = self.lang
        title = f'<div class="kg-title">{esc(self.title)}'
        if self.subtitle:
            title += f"<small>{esc(self.subtitle)}</small>"
        _Call("KG.box", title + "</div>", "topright", "kg-titlebox").add_to(self.m)
        folium.LayerControl(collapsed=False, position="topright").add_to(self.m)
        fs = folium.plugins.Fullscreen(
            position="topleft",
            title="全屏" if lang == "zh" else "Full screen",
            title_cancel="退出全屏" if lang == "zh" else "Exit full screen")
        fs.default_js, fs.default_css = [], []
        fs.add_to(self.m)
        mc = folium.plugins.MeasureControl(
            position="topleft", primary_length_unit="kilometers", secondary_length_unit="meters",
            primary_area_unit="sqkilometers", secondary_area_unit="hectares",
            localization="cn" if lang == "zh" else "en",
            units={"kilometers": {"factor": 0.001, "display": "公里" if lang == "zh" else "km",
                                  "decimals": 2},
                   "sqkilometers": {"factor": 1e-6, "display": "平方公里" if lang == "zh" else "km²",
                                    "decimals": 2}})
        mc.default_js, mc.default_css = [], []
        mc.add_to(self.m)
        _Call("KG.search", S.label("search", lang)).add_to(self.m)
        # metric scale bar only: planners in China work in metres and kilometres
        _Call("(function(m){L.control.scale({imperial:false,maxWidth:160}).addTo(m);})").add_to(self.m)
        if self._legend:
            _Call("KG.box", self._legend_html(), "bottomright", "kg-legend").add_to(self.m)
        _Call("KG.attribution", self._attribution_html()).add_to(self.m)
        bounds = self._fit
        if bounds is None and self._bounds:
            b = np.array(self._bounds)
            bounds = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
        if bounds is None:
            (w, e), (s, n) = self.to_display([REGION_BBOX[0], REGION_BBOX[2]],
                                             [REGION_BBOX[1], REGION_BBOX[3]])
            bounds = (w, s, e, n)
        w, s, e, n = (float(v) for v in bounds)
        self.m.location = [(s + n) / 2, (w + e) / 2]
        # set at once, not animated: a page opens at its view, and scripts (and tests)
        # that act on the map do not race a running zoom animation
        _Call("(function(m,b){m.fitBounds(b,{padding:[10,10],animate:false});})",
              [[s, w], [n, e]]).add_to(self.m)
        if self.basemap == "none":
            # A pale water-blue page background: the vector land then reads as land.
            _Call("(function(m){m.getContainer().classList.add('kg-none');})").add_to(self.m)
        _Call("(function(m){window.KG.map=m;})").add_to(self.m)

    def _legend_html(self) -> str:
        parts = []
        for sec in self._legend:
            parts.append(f"<h4>{esc(sec.title)}</h4>")
            for it in sec.items:
                parts.append(f'<div class="kg-row">{_swatch(it)}<span>{esc(it.label)}</span></div>')
            if sec.note:
                parts.append(f"<div><small>{esc(sec.note)}</small></div>")
        return "".join(parts)

    def _attribution_html(self) -> str:
        keys = [k for k in self.sources if k not in ("osm", "carto", "amap", "tianditu")
                or self.basemap == "none"]
        if "osm" in self.sources and self.basemap != "none":
            keys = [k for k in keys if k != "osm"]  # the tile layer already credits OSM
        idx = 0 if self.lang == "zh" else 1
        out = []
        for k in keys:
            if k not in S.ATTRIBUTIONS:
                continue
            text = esc(S.ATTRIBUTIONS[k][idx])
            url = S.ATTRIBUTION_URLS.get(k)
            out.append(f'<a href="{esc(url)}" target="_blank" rel="noopener">{text}</a>' if url else text)
        return " | ".join(out)

    def render(self) -> str:
        """The complete HTML page."""
        self._finish()
        root = self.m.get_root()
        root.header.add_child(Element(f"<title>{esc(self.title)}</title>"), name="kg_title")
        root.header.add_child(
            Element(_offline.resource_tags(("leaflet", "fullscreen", "measure"), self.offline)),
            name="kg_assets")
        root.header.add_child(Element(_offline.runtime_tags()), name="kg_runtime")
        _stable_ids(root)
        html = root.render()
        if self.lang == "zh":
            html = html.replace("<html>", '<html lang="zh-CN">', 1)
        else:
            html = html.replace("<html>", '<html lang="en">', 1)
        return html

    def save(self, path: str | os.PathLike) -> int:
        """Write the page atomically; return its size in bytes."""
        text = self.render()
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return Path(path).stat().st_size


def _stable_ids(root) -> None:
    """Replace folium's random element ids by a counter: the same map gives the same file."""
    counter = 0
    stack = [root]
    seen = set()
    while stack:
        el = stack.pop(0)
        if id(el) in seen:
            continue
        seen.add(id(el))
        if hasattr(el, "_id"):
            el._id = f"{counter:04d}"
            counter += 1
        stack.extend(getattr(el, "_children", {}).values())


# --- raster overlay -------------------------------------------------------------------
def raster_png(tif: str | os.PathLike, classes: S.Classes) -> tuple[str, tuple[float, float, float, float]]:
    """A GeoTIFF coloured by ``classes`` as a PNG data URI in Web Mercator, with WGS84 bounds."""
    import base64

    import matplotlib.image as mpimg
    import rasterio
    from matplotlib.colors import to_rgba
    from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

    path = Path(tif)
    if not path.exists():
        raise InputError(f"{path}: no such raster")
    with rasterio.open(path) as src:
        if src.crs is None:
            raise InputError(f"{path}: the raster has no CRS")
        dst_crs = "EPSG:3857"  # Leaflet stretches an image linearly in Web Mercator
        transform, w, h = calculate_default_transform(src.crs, dst_crs, src.width, src.height, *src.bounds)
        scale = max(w, h) / RASTER_MAX_PX
        if scale > 1:
            w, h = int(math.ceil(w / scale)), int(math.ceil(h / scale))
            transform, w, h = calculate_default_transform(src.crs, dst_crs, src.width, src.height,
                                                          *src.bounds, dst_width=w, dst_height=h)
        band = src.read(1, masked=True).astype("float64").filled(np.nan)
        out = np.full((h, w), np.nan)
        reproject(band, out, src_transform=src.transform, src_crs=src.crs, src_nodata=np.nan,
                  dst_transform=transform, dst_crs=dst_crs, dst_nodata=np.nan,
                  resampling=Resampling.nearest)
        west, south, east, north = transform_bounds(dst_crs, WGS84, transform.c,
                                                    transform.f + transform.e * h,
                                                    transform.c + transform.a * w, transform.f)
    rgba = np.zeros((h, w, 4))
    idx = classes.assign(out)
    palette = np.array([to_rgba(c) for c in classes.colors])
    ok = idx >= 0
    rgba[ok] = palette[idx[ok]]
    buf = _io.BytesIO()
    mpimg.imsave(buf, rgba, format="png")
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return uri, (west, south, east, north)


# --- helpers shared by the named maps --------------------------------------------------------
def _col(gdf: pd.DataFrame, *names: str) -> pd.Series:
    for n in names:
        if n in gdf.columns:
            return gdf[n]
    return pd.Series([None] * len(gdf), index=gdf.index)


def _names(gdf: pd.DataFrame, lang: str) -> list[str]:
    zh = _col(gdf, "name_zh", "name", "名称")
    en = _col(gdf, "name_en", "name", "name_zh")
    first, second = (zh, en) if lang == "zh" else (en, zh)
    out = []
    for a, b, i in zip(first, second, _col(gdf, "id"), strict=True):
        out.append(str(a) if not _is_missing(a) and str(a) else (str(b) if not _is_missing(b) else str(i)))
    return out


def _status_label(status: object, lang: str) -> str:
    return S.label(str(status), lang) if not _is_missing(status) else ""


def _seed_index(digests: Sequence[dict] | None, lang: str) -> tuple[dict, dict]:
    """(gazetteer id -> [(document title, role)], seed file -> title) from the digests."""
    refs: dict[str, list[tuple[str, str]]] = {}
    titles: dict[str, str] = {}
    for doc in digests or []:
        first, second = ("title", "title_en") if lang == "zh" else ("title_en", "title")
        title = doc.get(first) or doc.get(second) or doc.get("file", "")
        title = f"《{title}》" if lang == "zh" and doc.get("title") else str(title)
        titles[str(doc.get("file", ""))] = title
        for place in doc.get("places") or []:
            refs.setdefault(str(place.get("gazetteer_id")), []).append((title, str(place.get("role") or "")))
    return refs, titles


def _seed_list(pid: str, seed_refs: object, refs: dict, titles: dict, lang: str
               ) -> tuple[str, list[str]] | None:
    items = [(t, r) for t, r in refs.get(pid, [])]
    have = {t for t, _ in items}
    for f in S.split_clusters(seed_refs):  # same ';' separated cell format
        stem = f.rsplit(".", 1)[0]
        t = titles.get(stem + ".txt") or titles.get(f) or titles.get(stem) or f
        if t not in have:
            items.append((t, ""))
            have.add(t)
    if not items:
        return None
    return S.label("seed_refs", lang), [f"{t} — {r}" if r else t for t, r in items]


def _precision_text(p: object, verified: object, lang: str) -> str:
    if _is_missing(p):
        return ""
    try:
        txt = f"±{float(p):,.0f} m"
    except (TypeError, ValueError):
        return str(p)
    if not _is_missing(verified) and str(verified):
        txt += f" ({S.label('verified', lang)}: {S.label(str(verified), lang)})"
    return txt


# --- the named maps -------------------------------------------------------------------
def overview(places: gpd.GeoDataFrame, structures: gpd.GeoDataFrame | None = None, *,
             background: Background | None = None, digests: Sequence[dict] | None = None,
             lang: str = "zh", basemap: str = "osm", offline: bool = False,
             title: str | None = None) -> WebMap:
    """The study region, its units, lakes, innovation structures and the places by cluster.

    ``places``: the gazetteer (id, name_zh, name_en, kind, clusters, status, precision_m,
    verified, seed_refs); unlocated rows are skipped. ``digests``: the seed digests
    (:func:`kechuang_gis.layers.seeds.load_digests`) for the "mentioned in" lists.
    """
    wm = WebMap(title or S.label("title_overview", lang), lang=lang, basemap=basemap, offline=offline)
    wm.add_background(background)
    if structures is not None and len(structures):
        _add_structures(wm, structures, places)
    located = places[places.geometry.notna() & ~places.geometry.is_empty]
    if "status" in located.columns:
        located = located[located["status"].astype(str) != "unlocated"]
    _add_places(wm, located, digests)
    wm.add_sources(["gazetteer", "seeds", "osm"])
    if background is None or background.city is None:
        wm.fit_to(tuple(located.total_bounds) if len(located) else (REGION_BBOX))
    return wm


def _add_structures(wm: WebMap, structures: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> None:
    lang = wm.lang
    keys = [str(k) for k in _col(structures, "structure", "id")]
    order = sorted(range(len(keys)), key=lambda i: S.STRUCTURES.get(keys[i], S.STRUCTURES["wusong_belt"]).z)
    st = structures.iloc[order]
    keys = [keys[i] for i in order]
    kinds = list(dict.fromkeys(keys))
    styles = [S.STRUCTURES.get(k, S.AreaStyle("#888888", 0.2, "#555555")).leaflet() for k in kinds]
    pid_name = dict(zip(places["id"].astype(str), _names(places, lang), strict=True)) if "id" in places else {}
    names = _names(st, lang)
    labels = [S.label("kind", lang), S.label("members", lang)]
    derivation = "derivation" in st.columns
    if derivation:
        labels.append("how drawn" if lang == "en" else "绘制依据")
    rows, subtitles = [], []
    for (_, row), key in zip(st.iterrows(), keys, strict=True):
        members = [pid_name.get(m, m) for m in S.split_clusters(row.get("members"))]
        sep = "、" if lang == "zh" else ", "
        r = [S.label(key, lang), sep.join(members[:25]) + (" …" if len(members) > 25 else "")]
        if derivation:
            r.append(None if _is_missing(row["derivation"]) else str(row["derivation"]))
        rows.append(r)
        subtitles.append(row.get("name_en") if lang == "zh" else row.get("name_zh"))
    wm.add_geo(S.label("structures", lang), st, styles=styles,
               style_idx=[kinds.index(k) for k in keys],
               popups=Popups(labels, rows, titles=names, subtitles=subtitles), tooltips=names, names=names)
    wm.legend(S.label("legend_structures", lang),
              [LegendItem("fill", s, S.label(k, lang)) for k, s in zip(kinds, styles, strict=True)])


def _place_style(clusters: object, status: object, kind: object) -> dict:
    st = S.canonical_status(status)
    r = {"hub": 4.0, "district_zone": 7.0, "science_city": 8.0, "lake_area": 7.0}.get(str(kind), 6.0)
    fill = S.cluster_color(clusters)
    if str(kind) == "hub" and not S.split_clusters(clusters):
        fill = S.NODE_MARKERS["hub"][0]  # transport hubs without clusters: white dots
    s = {"radius": r, "color": "#333333", "weight": 1.2, "fillColor": fill,
         "fillOpacity": 0.9 if st == "operating" else 0.45, "opacity": 1.0}
    dash = S.STATUS_DASH[st]
    if dash:
        s["dashArray"] = " ".join(f"{d * 1.5:g}" for d in dash)
        s["weight"] = 1.8
    return s


def _add_places(wm: WebMap, places: gpd.GeoDataFrame, digests: Sequence[dict] | None) -> None:
    lang = wm.lang
    refs, titles = _seed_index(digests, lang)
    styles: list[dict] = []
    keys: dict[str, int] = {}
    idx, rows, lists = [], [], []
    names = _names(places, lang)
    other_names = _names(places, "en" if lang == "zh" else "zh")
    for _, row in places.iterrows():
        s = _place_style(row.get("clusters"), row.get("status"), row.get("kind"))
        k = json.dumps(s, sort_keys=True)
        if k not in keys:
            keys[k] = len(styles)
            styles.append(s)
        idx.append(keys[k])
        clusters = S.split_clusters(row.get("clusters"))
        cl = "、".join(S.cluster_name(c, lang) for c in clusters) if lang == "zh" else \
            ", ".join(S.cluster_name(c, lang) for c in clusters)
        rows.append([S.label(str(row.get("kind")), lang), cl, _status_label(row.get("status"), lang),
                     _precision_text(row.get("precision_m"), row.get("verified"), lang)])
        lists.append(_seed_list(str(row.get("id")), row.get("seed_refs"), refs, titles, lang))
    labels = [S.label(k, lang) for k in ("kind", "clusters", "status", "precision_m")]
    wm.add_geo(S.label("places", lang), places, styles=styles, style_idx=idx,
               popups=Popups(labels, rows, titles=names, subtitles=other_names, lists=lists),
               tooltips=names, names=names, fit=False)
    fams = []
    for c in places.get("clusters", pd.Series(dtype=object)):
        labels = S.split_clusters(c)
        fams.append(S.cluster_family(labels[0]) if labels else "其他")
    kinds = _col(places, "kind").astype(str).tolist()
    hubs_only = {i for i, (f, k) in enumerate(zip(fams, kinds, strict=True)) if f == "其他" and k == "hub"
                 and not S.split_clusters(places["clusters"].iloc[i] if "clusters" in places else None)}
    present_set = {f for i, f in enumerate(fams) if i not in hubs_only}
    present = [f for f in S.CLUSTER_FAMILIES if f in present_set]
    items = [LegendItem("circle", {"radius": 6, "color": "#333", "weight": 1,
                                   "fillColor": S.CLUSTER_FAMILIES[f][2], "fillOpacity": 0.9},
                        S.cluster_name(f, lang)) for f in present]
    if hubs_only:
        items.append(LegendItem("circle", _place_style("", "operating", "hub"), S.label("hub", lang)))
    wm.legend(S.label("legend_clusters", lang), items)
    stat = [LegendItem("circle", _place_style("", st, "park"), S.label(st, lang))
            for st in ("operating", "under_construction", "planned")]
    wm.legend(S.label("legend_status", lang), stat,
              note="圆点位置为近似值，见弹窗中的精度" if lang == "zh" else
              "Positions are approximate: see the precision in each popup")


def transport(edges: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame | None = None, *,
              background: Background | None = None, lang: str = "zh", basemap: str = "osm",
              offline: bool = False, title: str | None = None) -> WebMap:
    """Expressways and rail by class and status; stations and interchanges.

    ``edges``: the network's edges (mode, class, status, name; directed rows are drawn
    once per u-v pair); access and transfer links are not drawn.
    """
    wm = WebMap(title or S.label("title_transport", lang), lang=lang, basemap=basemap, offline=offline)
    wm.add_background(background)
    e = _undirected(edges)
    mode = _col(e, "mode").fillna("road").astype(str)
    e = e[mode.isin(("road", "rail")).to_numpy()]
    legend_items: list[LegendItem] = []
    for m in ("road", "rail"):
        part = e[_col(e, "mode").astype(str).to_numpy() == m]
        if part.empty:
            continue
        cls = _col(part, "class").fillna("").astype(str).tolist()
        status = [S.canonical_status(s) for s in _col(part, "status").fillna("operating")]
        combos = list(dict.fromkeys(zip(cls, status, strict=True)))
        # draw planned under operating: sort by status then class width
        styles = [S.line_style(m, c, st).leaflet() for c, st in combos]
        idx = [combos.index(k) for k in zip(cls, status, strict=True)]
        nm = _col(part, "name", "ref").tolist()
        names = [str(x) if not _is_missing(x) and str(x) else "" for x in nm]
        refs = display_values(_col(part, "ref"), "ref")
        rows = [[S.label(c, lang), S.label(st, lang), r or None]
                for c, st, r in zip(cls, status, refs, strict=True)]
        titles = [n or S.label(c, lang) for n, c in zip(names, cls, strict=True)]
        order = np.argsort([("planned", "under_construction", "operating").index(s) for s in status],
                           kind="stable")

        def pick(seq, order=order):
            return [seq[i] for i in order]

        wm.add_geo(S.label("roads" if m == "road" else "rail", lang), part.iloc[order],
                   styles=styles, style_idx=pick(idx),
                   popups=Popups([S.label("kind", lang), S.label("status", lang), "ref"], pick(rows),
                                 titles=pick(titles)),
                   tooltips=pick(titles), names=pick(names), fit=True)
        for c in dict.fromkeys(cls):
            legend_items.append(LegendItem("line", S.line_style(m, c, "operating").leaflet(), S.label(c, lang)))
    wm.legend(S.label("legend_transport", lang), legend_items)
    wm.legend(S.label("legend_status", lang),
              [LegendItem("line", S.LineStyle("#444444", 2.5, S.STATUS_DASH[st]).leaflet(), S.label(st, lang))
               for st in ("operating", "under_construction", "planned")])
    if nodes is not None and len(nodes):
        kinds = _col(nodes, "kind").fillna("").astype(str)
        sel = nodes[kinds.str.contains("station|interchange").to_numpy()]
        if len(sel):
            k = ["station" if "station" in s else "interchange" for s in _col(sel, "kind").astype(str)]
            styles = []
            for key in ("station", "interchange"):
                fill, edge, r = S.NODE_MARKERS[key]
                styles.append({"radius": r, "color": edge, "weight": 2, "fillColor": fill,
                               "fillOpacity": 1.0})
            names = _names(sel, lang)
            wm.add_geo(S.label("stations", lang), sel, styles=styles,
                       style_idx=[0 if x == "station" else 1 for x in k],
                       popups=Popups([S.label("kind", lang)], [[S.label(x, lang)] for x in k],
                                     titles=names),
                       tooltips=names, names=names)
            wm.legend(S.label("stations", lang),
                      [LegendItem("circle", styles[i], S.label(key, lang))
                       for i, key in enumerate(("station", "interchange")) if key in k])
    wm.add_sources(["network", "osm"])
    return wm


def _undirected(edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per u-v pair and mode: the network stores both directions."""
    if not {"u", "v"} <= set(edges.columns):
        return edges
    u = edges["u"].to_numpy()
    v = edges["v"].to_numpy()
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    key = pd.DataFrame({"lo": lo, "hi": hi, "mode": _col(edges, "mode").astype(str).to_numpy(),
                        "class": _col(edges, "class").astype(str).to_numpy()})
    return edges[~key.duplicated().to_numpy()]


def _class_legend(wm: WebMap, title: str, classes: S.Classes, kind: str = "fill") -> None:
    items = [LegendItem(kind, {"color": "#555", "weight": 0.5, "fillColor": c, "fillOpacity": 0.8,
                               "radius": 6}, lab) for c, lab in zip(classes.colors, classes.labels, strict=True)]
    wm.legend(title, items, note=f"{classes.scheme}, k={classes.k}")


def accessibility(origins: gpd.GeoDataFrame, measure: str = "nearest_time_min", *,
                  isochrones: gpd.GeoDataFrame | None = None, raster: str | os.PathLike | None = None,
                  scheme: str = "NaturalBreaks", k: int = 6, background: Background | None = None,
                  lang: str = "zh", basemap: str = "osm", offline: bool = False,
                  title: str | None = None, classes: S.Classes | None = None) -> WebMap:
    """Choropleth of ``measure`` on the origins (hexagons or points), isochrones, a raster.

    Classes come from :func:`style.classify` (pass ``classes`` to share them with a
    static export); lower-is-better measures use the reversed colour map.
    """
    if measure not in origins.columns:
        raise InputError(f"measure {measure!r} is not a column of the origins "
                         f"(columns: {', '.join(map(str, origins.columns))})")
    vals = pd.to_numeric(origins[measure], errors="coerce").to_numpy(dtype=float)
    if classes is None:
        cmap, rev = S.cmap_for(measure)
        classes = S.classify(vals, scheme, k, cmap=cmap, reverse=rev)
    wm = WebMap(title or f"{S.label('title_accessibility', lang)}: {S.label(measure, lang)}",
                lang=lang, basemap=basemap, offline=offline)
    wm.add_background(background)
    if raster is not None:
        wm.add_raster(S.label("raster", lang), raster, classes)
    cidx = classes.assign(vals)
    styles = []
    points = bool((origins.geom_type == "Point").all())
    for c in classes.colors + [classes.nodata_color]:
        s = {"color": c, "weight": 0.7, "fillColor": c, "fillOpacity": 0.75, "opacity": 0.75}
        if points:
            s.update(radius=4, weight=0.5, color="#333333")
        styles.append(s)
    cidx = np.where(cidx < 0, len(classes.colors), cidx)
    cols = [measure] + [c for c in _popup_measures(origins) if c != measure][:POPUP_MAX_COLS - 1]
    titles = _col(origins, "name_zh" if lang == "zh" else "name_en", "name", "id", "h3").tolist()
    wm.add_geo(S.label("hex", lang) if not points else S.label("features", lang), origins,
               styles=styles, style_idx=cidx.tolist(),
               popups=Popups.table(origins, cols, lang, titles=titles), tip_col=0,
               simplify=False, fit=True)
    _class_legend(wm, S.label(measure, lang), classes, "circle" if points else "fill")
    if isochrones is not None and len(isochrones):
        _add_isochrones(wm, isochrones)
    wm.add_sources(["analysis", "network", "gazetteer"])
    return wm


#: Columns of an origins table that are geometry helpers, not measures (left out of popups).
_NOT_MEASURES = ("lon", "lat", "area_m2", "x", "y", "geometry", "id", "h3", "name", "name_zh", "name_en")
#: Most columns a measure popup shows.
POPUP_MAX_COLS = 8


def _popup_measures(df: pd.DataFrame) -> list[str]:
    """Measure columns for popups: numeric ones and nearest_* labels, helpers left out."""
    geom = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    return [c for c in df.columns if c != geom and c not in _NOT_MEASURES
            and (pd.api.types.is_numeric_dtype(df[c]) or str(c).startswith("nearest_"))]


def _add_isochrones(wm: WebMap, iso: gpd.GeoDataFrame) -> None:
    lang = wm.lang
    minutes = pd.to_numeric(_col(iso, "minutes"), errors="coerce").to_numpy(dtype=float)
    levels = sorted({m for m in minutes if np.isfinite(m)})
    colors = S.ramp(S.SEQUENTIAL_CMAP, max(len(levels), 1), True)
    styles = [{"color": c, "weight": 2.0, "fill": True, "fillColor": c, "fillOpacity": 0.08,
               "opacity": 0.9} for c in colors] + [{"color": "#666", "weight": 1}]
    idx = [levels.index(m) if np.isfinite(m) else len(levels) for m in minutes]
    order = np.argsort(-np.nan_to_num(minutes, nan=-1), kind="stable")  # largest first, under
    dest = _col(iso, "dest_name", "dest_id").tolist()
    labels = [f"{d if not _is_missing(d) else ''} {_fmt_num(m) if np.isfinite(m) else ''} "
              f"{S.label('minutes', lang)}".strip() for d, m in zip(dest, minutes, strict=True)]
    rows = [[None if _is_missing(d) else str(d), display_values([m], "minutes")[0]]
            for d, m in zip(dest, minutes, strict=True)]
    wm.add_geo(S.label("isochrones", lang), iso.iloc[order], styles=styles,
               style_idx=[idx[i] for i in order],
               popups=Popups([S.label("dest_id", lang), S.label("minutes", lang)],
                             [rows[i] for i in order], titles=[labels[i] for i in order]),
               tooltips=[labels[i] for i in order])
    wm.legend(S.label("isochrones", lang),
              [LegendItem("line", styles[i], f"{_fmt_num(m)} {S.label('minutes', lang)}")
               for i, m in enumerate(levels)])


def node_strength(nodes: gpd.GeoDataFrame, flows: gpd.GeoDataFrame | None = None, *,
                  index_col: str = "composite_index", max_flows: int = 400,
                  background: Background | None = None, lang: str = "zh", basemap: str = "osm",
                  offline: bool = False, title: str | None = None, top_n: int = 20) -> WebMap:
    """Proportional circles by index coloured by tier, flow lines by interaction, a ranking panel."""
    if index_col not in nodes.columns:
        raise InputError(f"node table has no column {index_col!r} (columns: {', '.join(map(str, nodes.columns))})")
    wm = WebMap(title or S.label("title_node_strength", lang), lang=lang, basemap=basemap, offline=offline)
    wm.add_background(background)
    if flows is not None and len(flows):
        w = pd.to_numeric(_col(flows, "w_ij", "weight"), errors="coerce").to_numpy(dtype=float)
        keep = np.argsort(-np.nan_to_num(w, nan=-1), kind="stable")[:max_flows][::-1]  # strongest on top
        f = flows.iloc[keep]
        wk = w[keep]
        wmax = np.nanmax(wk) if np.isfinite(wk).any() else 1.0
        widths = 0.6 + 7.0 * np.sqrt(np.clip(np.nan_to_num(wk), 0, None) / (wmax or 1.0))
        bins = np.round(widths * 2) / 2  # a small style table: half-pixel steps
        levels = sorted(set(bins.tolist()))
        styles = [{"color": S.FLOW_COLOR, "weight": b, "opacity": 0.55} for b in levels]
        oname = _col(f, "name_i", "origin", "i").tolist()
        dname = _col(f, "name_j", "dest", "j").tolist()
        tips = [f"{a} – {b}: {_fmt_num(x)}" for a, b, x in zip(oname, dname, wk, strict=True)]
        extra = [c for c in ("t_ij_min",) if c in f.columns]
        wm.add_geo(S.label("flows", lang), f, styles=styles, style_idx=[levels.index(b) for b in bins],
                   tooltips=tips,
                   popups=Popups.table(f.assign(w_ij=wk), ["w_ij", *extra], lang, titles=tips),
                   simplify=False)
        wm.legend(S.label("legend_flow", lang),
                  [LegendItem("line", styles[-1], _fmt_num(float(np.nanmax(wk)))),
                   LegendItem("line", styles[0], _fmt_num(float(np.nanmin(wk))))],
                  note=(f"前 {len(f)} 条" if lang == "zh" else f"strongest {len(f)}"))
    pts = nodes.copy()
    if not (pts.geom_type == "Point").all():
        pts = pts.set_geometry(pts.geometry.representative_point())
    val = pd.to_numeric(pts[index_col], errors="coerce").to_numpy(dtype=float)
    vmax = np.nanmax(val) if np.isfinite(val).any() else 1.0
    radii = 3.0 + 17.0 * np.sqrt(np.clip(np.nan_to_num(val), 0, None) / (vmax or 1.0))
    order = np.argsort(-np.nan_to_num(val, nan=-1), kind="stable")  # big circles under small
    pts = pts.iloc[order]
    radii = radii[order]
    tiers = _col(pts, "tier").tolist()
    tier_keys = S.tiers_present(tiers)
    styles = [{"color": "#333333", "weight": 1, "fillColor": S.tier_color(t), "fillOpacity": 0.8}
              for t in tier_keys] + [{"color": "#333333", "weight": 1, "fillColor": S.tier_color(None),
                                      "fillOpacity": 0.8}]
    idx = [tier_keys.index(str(t)) if str(t) in tier_keys else len(tier_keys) for t in tiers]
    names = _names(pts, lang)
    cols = [c for c in ("rank", "tier", index_col, "gravity_strength_index") if c in pts.columns]
    cols += [c for c in pts.columns if c.endswith("_index") and c not in cols][:6]
    wm.add_geo(S.label("nodes", lang), pts, styles=styles, style_idx=idx, radii=radii.tolist(),
               popups=Popups.table(pts.assign(tier=[S.tier_name(t, lang) if not _is_missing(t) else None
                                                    for t in tiers]), cols, lang, titles=names),
               tooltips=names, names=names, fit=True)
    wm.legend(S.label("legend_tier", lang),
              [LegendItem("circle", dict(styles[i], radius=6), S.tier_name(t, lang))
               for i, t in enumerate(tier_keys)],
              note=S.label("legend_size", lang))
    rank = pd.to_numeric(_col(pts, "rank"), errors="coerce")
    if rank.isna().all():
        rank = pd.Series(np.arange(1, len(pts) + 1), index=pts.index)
    table = pd.DataFrame({"rank": rank.to_numpy(), "name": names, "val": pts[index_col].to_numpy(),
                          "tier": tiers}).sort_values("rank").head(top_n)
    head = (f"<b>{esc(S.label('ranking', lang))}</b><table><tr><th>#</th><th>{esc(S.label('name', lang))}"
            f"</th><th>{esc(S.label(index_col, lang))}</th><th>{esc(S.label('tier', lang))}</th></tr>")
    body = "".join(f'<tr><td class="num">{esc(r.rank)}</td><td>{esc(r.name)}</td>'
                   f'<td class="num">{esc(r.val)}</td><td>{esc(S.tier_name(r.tier, lang))}</td></tr>'
                   for r in table.itertuples())
    wm.panel(head + body + "</table>", "bottomleft")
    wm.add_sources(["analysis", "gazetteer", "network"])
    return wm


def layer(data: gpd.GeoDataFrame, *, name: str = "", popup_cols: Sequence[str] | None = None,
          measure: str | None = None, scheme: str = "NaturalBreaks", k: int = 5,
          background: Background | None = None, lang: str = "zh", basemap: str = "osm",
          offline: bool = False, title: str | None = None) -> WebMap:
    """Any user layer as a map: popups with ``popup_cols`` (default: all, up to 12 columns),
    optionally a choropleth of the numeric column ``measure``."""
    cols = [c for c in data.columns if c != data.geometry.name]
    if popup_cols:
        missing = [c for c in popup_cols if c not in data.columns]
        if missing:
            raise InputError(f"popup column(s) {', '.join(missing)} not in the data "
                             f"(columns: {', '.join(map(str, cols))})")
        cols = list(popup_cols)
    else:
        cols = cols[:12]
    wm = WebMap(title or name or S.label("title_layer", lang), lang=lang, basemap=basemap, offline=offline)
    wm.add_background(background)
    names = _names(data, lang)
    gt = set(data.geom_type.dropna())
    kind = "circle" if gt <= {"Point", "MultiPoint"} else ("line" if gt <= {"LineString", "MultiLineString"} else "fill")
    if measure:
        if measure not in data.columns:
            raise InputError(f"measure {measure!r} is not a column (columns: {', '.join(map(str, cols))})")
        vals = pd.to_numeric(data[measure], errors="coerce").to_numpy(dtype=float)
        cmap, rev = S.cmap_for(measure)
        classes = S.classify(vals, scheme, k, cmap=cmap, reverse=rev)
        idx = classes.assign(vals)
        idx = np.where(idx < 0, classes.k, idx)
        styles = [{"color": c if kind == "line" else "#333333", "weight": 3 if kind == "line" else 0.6,
                   "fillColor": c, "fillOpacity": 0.75, "radius": 5}
                  for c in classes.colors + [classes.nodata_color]]
        _class_legend(wm, S.label(measure, lang), classes, kind)
    else:
        idx = np.zeros(len(data), dtype=int)
        styles = [{"color": "#1F4E79", "weight": 2 if kind == "line" else 1, "fillColor": "#2E86C1",
                   "fillOpacity": 0.5 if kind == "fill" else 0.85, "radius": 5}]
        wm.legend(name or S.label("features", lang), [LegendItem(kind, styles[0], f"{len(data)}")])
    popups = Popups.table(data, cols, lang, labels=[str(c) for c in cols], titles=names)
    wm.add_geo(name or S.label("features", lang), data, styles=styles, style_idx=idx.tolist(),
               popups=popups, tooltips=names, names=names, fit=True)
    wm.add_sources(["user"])
    return wm


def read_layer(path: str | os.PathLike) -> gpd.GeoDataFrame:
    """A user file for :func:`layer`: CSV with lon/lat, GeoJSON, GPKG or GeoParquet."""
    from ..io import read_points, read_vector

    p = Path(path)
    if p.suffix.lower() == ".csv":
        return read_points(p, allow_missing_id=True)
    return read_vector(p)


# --- scenario ---------------------------------------------------------------------------
#: Labels this module adds to style.LABELS (key -> (Chinese, English)): the scenario map
#: and measure columns without a label there. Candidates for style.LABELS.
_CHANGE_LABEL = {"status": "status_change"}
#: Map panes of the scenario map: the two swipe sides, and changes drawn above both.
SWIPE_PANES = ("kgLeft", "kgRight", "kgTop")


def _side_labels(classes: S.Classes, lower_better: bool, lang: str) -> list[str]:
    """Class labels tagged gain or loss; the class holding zero says it includes no change."""
    lows = [classes.lower] + [float(b) for b in classes.bins[:-1]]
    out = []
    for i, (lab, lo, hi) in enumerate(zip(classes.labels, lows, classes.bins, strict=True)):
        if lo < 0 <= hi or (i == 0 and lo == 0):
            tag = S.label("no_change", lang)
        elif hi < 0:
            tag = S.label("gain" if lower_better else "loss", lang)
        else:
            tag = S.label("loss" if lower_better else "gain", lang)
        out.append(f"{lab}（{tag}）" if lang == "zh" else f"{lab} ({tag})")
    return out


def _diverging(values: np.ndarray, k: int, cmap: str) -> S.Classes:
    return S.diverging_classes(values, k=k, cmap=cmap)


def scenario(delta: gpd.GeoDataFrame, measure: str, *, changed: gpd.GeoDataFrame | None = None,
             node_ranks: pd.DataFrame | None = None, background: Background | None = None,
             lang: str = "zh", basemap: str = "osm", offline: bool = False, title: str | None = None,
             subtitle: str = "", k: int = 7, scheme: str = "NaturalBreaks", top_n: int = 12) -> WebMap:
    """A scenario against its base: the change, both sides in a swipe, what changed.

    ``delta``: per origin ``<measure>_base``, ``<measure>_scenario`` and
    ``<measure>_delta`` (scenario - base), as written by ``scenario run``
    (delta.parquet). The change is drawn on a diverging scale centred on zero in which
    blue is always a gain (a shorter time for lower-is-better measures) and red a loss;
    base and scenario share one set of classes and are compared with a swipe divider.
    ``changed``: the changed network elements (changed.parquet; kind in ``change`` or
    ``action``: added, removed, status, speed, node_added, mass_changed). ``node_ranks``:
    ranks before and after (node_strength_delta.csv: id, name_zh, rank_base,
    rank_scenario, rank_change, optional lon/lat) for a table of the biggest movers.
    """
    cols = {side: f"{measure}_{side}" for side in ("base", "scenario", "delta")}
    missing = [c for c in cols.values() if c not in delta.columns]
    if missing:
        have = sorted(c[: -len("_delta")] for c in delta.columns if str(c).endswith("_delta"))
        raise InputError(f"scenario map of {measure!r}: column(s) {', '.join(missing)} missing "
                         f"(measures in the file: {', '.join(have) or 'none'})")
    lower = S.lower_is_better(measure)
    vals = {side: pd.to_numeric(delta[c], errors="coerce").to_numpy(dtype=float) for side, c in cols.items()}
    dclasses = _diverging(vals["delta"], k, S.DIVERGING_CMAP + ("_r" if lower else ""))
    cmap, rev = S.cmap_for(measure)
    sclasses = S.classify(np.r_[vals["base"], vals["scenario"]], scheme, 6, cmap=cmap, reverse=rev)
    name = S.label(measure, lang)
    wm = WebMap(title or (f"{S.label('title_scenario', lang)}：{name}" if lang == "zh"
                          else f"{S.label('title_scenario', lang)}: {name}"),
                lang=lang, basemap=basemap, offline=offline, subtitle=subtitle)
    wm.add_background(background)
    points = bool((delta.geom_type == "Point").all())

    def styles(classes: S.Classes) -> list[dict]:
        out = []
        for c in classes.colors + [classes.nodata_color]:
            s = {"color": c, "weight": 0.7, "fillColor": c, "fillOpacity": 0.8, "opacity": 0.8}
            if points:
                s.update(radius=4, weight=0.5, color="#333333")
            out.append(s)
        return out

    def idx(classes: S.Classes, v: np.ndarray) -> list[int]:
        i = classes.assign(v)
        return np.where(i < 0, classes.k, i).tolist()

    titles = _col(delta, "name_zh" if lang == "zh" else "name_en", "name", "id").tolist()
    popups = Popups.table(delta, list(cols.values()), lang,
                          labels=[f"{name}：{S.label(s, lang)}" if lang == "zh" else f"{name}: {S.label(s, lang)}"
                                  for s in ("base", "scenario", "change")], titles=titles)
    wm.add_geo(S.label("delta_layer", lang), delta, styles=styles(dclasses), style_idx=idx(dclasses, vals["delta"]),
               popups=popups, tip_col=2, simplify=False, fit=True, layer_id="delta")
    for j, (side, pane, z) in enumerate((("base", SWIPE_PANES[0], 410), ("scenario", SWIPE_PANES[1], 411))):
        wm.add_geo(f"{S.label(side, lang)}：{name}" if lang == "zh" else f"{S.label(side, lang)}: {name}", delta,
                   styles=styles(sclasses), style_idx=idx(sclasses, vals[side]), popups=popups, tip_col=j,
                   same_as="delta", layer_id=side, pane=pane, pane_z=z, show=False)
    title_delta = (f"{name}{S.label('change', lang)}（{S.label('scenario', lang)} − {S.label('base', lang)}）" if lang == "zh"
                   else f"{S.label('change', lang)} in {name} ({S.label('scenario', lang)} − {S.label('base', lang)})")
    items = [LegendItem("circle" if points else "fill", {"color": "#555", "weight": 0.5, "fillColor": c,
                                                         "fillOpacity": 0.85, "radius": 6}, lab)
             for c, lab in zip(dclasses.colors, _side_labels(dclasses, lower, lang), strict=True)]
    wm.legend(title_delta, items, note=S.label("note_time" if lower else "note_more", lang))
    _class_legend(wm, f"{S.label('same_classes', lang)}：{name}" if lang == "zh"
                  else f"{S.label('same_classes', lang)}: {name}", sclasses, "circle" if points else "fill")
    if changed is not None and len(changed):
        _add_changes(wm, changed)
    if node_ranks is not None and len(node_ranks):
        _add_rank_changes(wm, node_ranks, top_n)
    wm.swipe("base", "scenario", delta="delta", left_pane=SWIPE_PANES[0], right_pane=SWIPE_PANES[1])
    wm.add_sources(["analysis", "network", "gazetteer"])
    return wm


def _arrow(before: object, after: object) -> str | None:
    """'before → after' for a popup (just one side when the other is missing or equal)."""
    a, b = (_fmt_display(v) for v in display_values([before, after]))
    if not a or a == b:
        return b or None
    return f"{a} → {b or '–'}"


def _fmt_display(v: object) -> str:
    """A display value as text, as the page's KG.fmt writes it."""
    if v is None:
        return ""
    if isinstance(v, int | float):
        return _fmt_num(float(v))
    return str(v)


def _add_changes(wm: WebMap, changed: gpd.GeoDataFrame) -> None:
    lang = wm.lang
    kind = _col(changed, "change", "action").fillna("").astype(str)
    known = kind.isin(list(S.CHANGE_STYLES)).to_numpy()
    if not known.all():
        odd = sorted(set(kind[~known]))
        warnings.warn(f"changed elements of unknown kind(s) {', '.join(map(repr, odd))} not drawn",
                      DataWarning, stacklevel=3)
    ch = changed[known]
    kind = kind[known]
    if {"u", "v"} <= set(ch.columns):
        # edges are stored once per direction: draw each link and change once
        u = pd.to_numeric(ch["u"], errors="coerce").to_numpy(dtype=float)
        v = pd.to_numeric(ch["v"], errors="coerce").to_numpy(dtype=float)
        key = pd.DataFrame({"lo": np.fmin(u, v), "hi": np.fmax(u, v), "k": kind.to_numpy(),
                            "m": _col(ch, "mode").astype(str).to_numpy(),
                            "n": _col(ch, "node_id").astype(str).to_numpy()})
        first = ~key.duplicated().to_numpy() | np.isnan(u)
        ch, kind = ch[first], kind[first]
    if ch.empty:
        return
    order = np.argsort([list(S.CHANGE_STYLES).index(k) for k in kind], kind="stable")[::-1]
    ch, kind = ch.iloc[order], kind.iloc[order]  # added last: on top
    present = [k for k in S.CHANGE_STYLES if k in set(kind)]
    styles = [S.CHANGE_STYLES[k] for k in present]
    what = [S.label(_CHANGE_LABEL.get(k, k), lang) for k in kind]
    names = [n if n else "" for n in _names(ch.assign(name=_col(ch, "name", "line", "ref")), lang)]
    names = ["" if n in ("None", "nan") else n for n in names]
    mode = [S.label(str(m), lang) if not _is_missing(m) else None for m in _col(ch, "mode")]
    cls = [S.label(str(c), lang) if not _is_missing(c) else None for c in _col(ch, "class")]
    rows = []
    for i, (_, r) in enumerate(ch.iterrows()):
        st = [S.label(str(x), lang) if not _is_missing(x) else None
              for x in (r.get("status_before"), r.get("status_after"))]
        rows.append([what[i], mode[i], cls[i], _arrow(*st),
                     _arrow(r.get("speed_before"), r.get("speed_after")),
                     _arrow(r.get("mass_before"), r.get("mass_after")),
                     None if _is_missing(r.get("note")) else str(r.get("note"))])
    labels = [S.label("change", lang), S.label("mode", lang), S.label("kind", lang), S.label("status", lang),
              S.label("speed_kmh", lang), S.label("mass", lang), S.label("note", lang)]
    tips = [f"{w}: {n}" if n else w for w, n in zip(what, names, strict=True)]
    wm.add_geo(S.label("changed", lang), ch, styles=styles, style_idx=[present.index(k) for k in kind],
               popups=Popups(labels, rows, titles=[n or w for n, w in zip(names, what, strict=True)]),
               tooltips=tips, names=names, pane=SWIPE_PANES[2], pane_z=420)
    gt = set(ch.geom_type)
    items = []
    for k, s in zip(present, styles, strict=True):
        sub = kind == k
        is_pt = set(ch.geom_type[sub.to_numpy()]) <= {"Point", "MultiPoint"}
        items.append(LegendItem("circle" if is_pt else "line", s, S.label(_CHANGE_LABEL.get(k, k), lang)))
    if gt:
        wm.legend(S.label("changed", lang), items)


def _add_rank_changes(wm: WebMap, ranks: pd.DataFrame, top_n: int) -> None:
    lang = wm.lang
    need = [c for c in ("rank_base", "rank_scenario") if c not in ranks.columns]
    if need:
        raise InputError(f"node rank table lacks column(s) {', '.join(need)} "
                         f"(columns: {', '.join(map(str, ranks.columns))})")
    rb = pd.to_numeric(ranks["rank_base"], errors="coerce").to_numpy(dtype=float)
    rs = pd.to_numeric(ranks["rank_scenario"], errors="coerce").to_numpy(dtype=float)
    change = rb - rs  # positive: moves up (rank 5 -> 3 is +2), as in node_strength_delta
    status = np.where(np.isnan(rb) & ~np.isnan(rs), "new",
                      np.where(~np.isnan(rb) & np.isnan(rs), "out",
                               np.where(change > 0, "up", np.where(change < 0, "down", ""))))
    names = _names(ranks, lang)
    moved = np.flatnonzero(status != "")
    # biggest movers first, then new and leaving nodes; ties by the scenario rank
    mag = np.where(np.isnan(change), -1.0, np.abs(change))
    order = sorted(moved, key=lambda i: (-mag[i], status[i] != "new", np.nan_to_num(rs[i], nan=1e9)))
    sym = {"new": S.label("rank_new", lang), "out": S.label("rank_out", lang)}

    def change_text(i: int) -> str:
        if status[i] in sym:
            return sym[status[i]]
        return f"{'↑' if change[i] > 0 else '↓'}{abs(int(change[i]))}"

    head = (f"<h5>{esc(S.label('rank_changes', lang))}</h5><table><tr><th>{esc(S.label('name', lang))}</th>"
            f"<th>{esc(S.label('base', lang))}</th><th>{esc(S.label('scenario', lang))}</th>"
            f"<th>{esc(S.label('change', lang))}</th></tr>")
    body = "".join(
        f'<tr><td>{esc(names[i])}</td><td class="num">{esc(_fmt_rank(rb[i]))}</td>'
        f'<td class="num">{esc(_fmt_rank(rs[i]))}</td>'
        f'<td class="num {"up" if status[i] in ("up", "new") else "down"}">{esc(change_text(i))}</td></tr>'
        for i in order[:top_n])
    if not order:
        body = f'<tr><td colspan="4">{esc(S.label("no_movers", lang))}</td></tr>'
    wm.panel(head + body + "</table>", "bottomleft")
    if not {"lon", "lat"} <= set(ranks.columns) or not len(moved):
        return
    sel = ranks.iloc[moved]
    pts = gpd.GeoDataFrame(sel, geometry=gpd.points_from_xy(pd.to_numeric(sel["lon"], errors="coerce"),
                                                            pd.to_numeric(sel["lat"], errors="coerce")),
                           crs=WGS84)
    keys = [k for k in ("up", "down", "new", "out") if k in set(status[moved])]
    styles = [{"radius": 6, "color": "#FFFFFF", "weight": 1.5, "fillColor": S.RANK_COLORS[k], "fillOpacity": 0.95}
              for k in keys]
    cols = [c for c in ("rank_base", "rank_scenario", "composite_index_base", "composite_index_scenario")
            if c in sel.columns]
    table = Popups.table(sel, cols, lang, labels=[S.label(c, lang) for c in cols], titles=[names[i] for i in moved])
    for r, i in zip(table.rows, moved, strict=True):
        r.append(change_text(i))
    table.labels = [*table.labels, S.label("rank_change", lang)]
    sub = [names[i] for i in moved]
    wm.add_geo(S.label("rank_changes", lang), pts, styles=styles, style_idx=[keys.index(status[i]) for i in moved],
               popups=table, tooltips=[f"{n}: {change_text(i)}" for n, i in zip(sub, moved, strict=True)],
               names=sub, pane=SWIPE_PANES[2], pane_z=420)
    wm.legend(S.label("rank_changes", lang),
              [LegendItem("circle", s, S.label(f"rank_{k}", lang)) for k, s in zip(keys, styles, strict=True)])


def _fmt_rank(r: float) -> str:
    return "–" if not np.isfinite(r) else str(int(r))
