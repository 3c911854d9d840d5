"""Static maps for reports: PNG, SVG and PDF from matplotlib, in the web maps' style.

Every map kind of the web maps has a static twin here: ``overview``, ``transport``,
``accessibility``, ``node-strength``, ``scenario-delta`` and ``layer``. Each page has a
title, legends in a side panel (never over the data), a scale bar, a north arrow, the
data sources, coordinate ticks and an inset locating the study area in the Yangtze
Delta. Maps are drawn in EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E), where a
metre on the map is a metre on the ground, so the scale bar is true.

Publishers never compute: the render functions take GeoDataFrames (any CRS) and only
draw. Colours and classes come from :mod:`.style`, shared with the web maps. Output is
deterministic: the same inputs give byte-identical files.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import __version__
from ..crs import lonlat_to_metric, metric_to_lonlat
from ..errors import InputError, MissingDependencyError, warn_count
from ..io import atomic_path
from ..settings import METRIC_CRS, WGS84
from . import fonts
from . import style as S
from .background import Background

KINDS = ("overview", "transport", "accessibility", "node-strength", "scenario-delta", "layer")
FORMATS = (".png", ".svg", ".pdf")
#: Named paper sizes in millimetres, landscape (a map of the region is wider than tall).
#: Append ``-portrait`` (``A4-portrait``) for the upright page.
PAPER_MM: dict[str, tuple[float, float]] = {
    "A5": (210.0, 148.0), "A4": (297.0, 210.0), "A3": (420.0, 297.0),
    "A2": (594.0, 420.0), "A1": (841.0, 594.0),
}
DEFAULT_SIZE = "A4"
DEFAULT_DPI = 300
#: Polygon layers with more features than this are rasterized in PDF/SVG output.
RASTERIZE_ABOVE = 20_000
#: Fixed salt for SVG element ids, so SVG output is reproducible.
SVG_HASHSALT = "kechuang-gis"
#: Window of the inset locator map (lon_min, lat_min, lon_max, lat_max): the Yangtze
#: Delta from Anhui's Yangtze reach to the sea.
INSET_BBOX = (115.6, 28.3, 123.4, 34.0)
#: Page furniture in millimetres at A4 (scaled with the page).
_MARGIN_MM = 7.0
_TITLE_MM = 15.0
_FOOTER_MM = 13.0
_GAP_MM = 4.0
#: Base font sizes in points at A4.
_FS = {"title": 15.0, "subtitle": 8.5, "legend": 7.5, "legend_title": 8.0, "label": 6.8,
       "label_major": 8.5, "note": 6.0, "tick": 6.0, "scalebar": 6.5, "table": 6.8}
_INK = "#222222"
_SEA = "#DDEBF5"


# --- page -----------------------------------------------------------------------------

def parse_size(size: str | tuple[float, float]) -> tuple[float, float]:
    """Page size in mm from 'A4', 'A3-portrait', '240x160' (width x height, mm) or a tuple."""
    if isinstance(size, tuple):
        w, h = (float(v) for v in size)
    else:
        text = str(size).strip()
        m = re.fullmatch(r"(A[1-5])(?:[-_ ]?(portrait|landscape|p|l))?", text, flags=re.I)
        if m:
            w, h = PAPER_MM[m.group(1).upper()]
            if (m.group(2) or "").lower() in ("portrait", "p"):
                w, h = h, w
        else:
            m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*[x×*]\s*(\d+(?:\.\d+)?)(?:\s*mm)?", text, flags=re.I)
            if not m:
                raise InputError(f"page size {size!r}: use A1-A5 (optionally -portrait) or WxH in mm, e.g. 240x160")
            w, h = float(m.group(1)), float(m.group(2))
    if not (40.0 <= w <= 2000.0 and 40.0 <= h <= 2000.0):
        raise InputError(f"page size {w:g}x{h:g} mm is outside 40-2000 mm")
    return w, h


def pixel_size(size, dpi: float) -> tuple[int, int]:
    """PNG pixel size of a page: what matplotlib writes for this size and dpi."""
    w, h = parse_size(size)
    return int(round(w / 25.4 * dpi)), int(round(h / 25.4 * dpi))


def _check_out(out: str | os.PathLike) -> Path:
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise InputError(f"{out}: the file name must end in {', '.join(FORMATS)}")
    return out


@dataclass
class _Block:
    """One legend block of the side panel."""

    title: str
    handles: list
    labels: list[str]
    ncol: int = 1
    plain: bool = False  # text rows without symbols (a ranked list)
    optional: bool = False  # left out first when the panel is full


@dataclass
class _Label:
    x: float
    y: float
    text: str
    priority: float
    size: float
    color: str = _INK
    style: str = "normal"
    weight: str = "normal"
    offsets: tuple[tuple[float, float], ...] = ((1, 0), (-1, 0), (0, 1), (0, -1))
    halo: bool = True


# --- the page builder -------------------------------------------------------------------

def _rc_params() -> dict:
    rc = {"svg.hashsalt": SVG_HASHSALT, "path.simplify": True, "axes.linewidth": 0.8,
          "font.size": 8.0, "legend.title_fontsize": 8.0, "hatch.linewidth": 0.5}
    try:
        rc.update(fonts.rc_params())
    except MissingDependencyError:
        # Latin-only maps (lang=en on Latin data) can still be drawn; _ensure_glyphs
        # raises this error if any text turns out to need Chinese glyphs.
        rc.update({"font.family": [fonts.LATIN_FALLBACK], "axes.unicode_minus": False})
    return rc


def _styled(func):
    """Run ``func`` under the page's rcParams: text objects take their font when created."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _rc_context(_rc_params()), warnings.catch_warnings():
            # Without a CJK font matplotlib warns once per missing glyph while measuring
            # text; _ensure_glyphs turns that into one clear error instead.
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
            return func(*args, **kwargs)

    return wrapper


def _rc_context(rc: dict):
    import matplotlib

    return matplotlib.rc_context(rc)



def _canvas_class():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    class QuietCanvas(FigureCanvasAgg):
        """Agg canvas that ignores draw_idle: geopandas asks for a redraw after every
        layer, which on a non-interactive canvas would render the whole page each time."""

        def draw_idle(self, *args, **kwargs):
            pass

    return QuietCanvas


def _QuietCanvas(fig):
    return _canvas_class()(fig)


class MapPage:
    """A report page: map frame, side panel (inset + legends), title and footer.

    Use :meth:`draw_background`, add data to :attr:`ax` (EPSG:4549 coordinates), add
    legend blocks and labels, then :meth:`save`.
    """

    def __init__(self, background: Background, *, title: str, subtitle: str = "",
                 lang: str = "zh", size=DEFAULT_SIZE, dpi: float = DEFAULT_DPI,
                 extent: tuple[float, float, float, float] | None = None,
                 sources: Iterable[str] = ()):
        from matplotlib.figure import Figure

        self.lang = S.check_lang(lang)
        self.w_mm, self.h_mm = parse_size(size)
        if not 50 <= dpi <= 1200:
            raise InputError(f"dpi {dpi} is outside 50-1200")
        self.dpi = float(dpi)
        self.k = float(np.clip(min(self.w_mm, self.h_mm) / 210.0, 0.7, 2.5))  # furniture scale
        self.bg = background
        self.title, self.subtitle = title, subtitle
        self.sources = list(dict.fromkeys([*background.sources, *sources]))
        self.blocks: list[_Block] = []
        self.labels: list[_Label] = []
        self.notes: list[str] = []
        _check_text_font([title, subtitle])
        with _rc_context(_rc_params()):
            self.fig = Figure(figsize=(self.w_mm / 25.4, self.h_mm / 25.4), dpi=self.dpi,
                              facecolor="white")
            _QuietCanvas(self.fig)  # text extents for legend stacking and label placement
            self._layout()
        self.extent = self._fit_extent(extent or self._default_extent())
        self._simplify_m = self._metres_per_pixel() * 0.5

    # -- geometry helpers ------------------------------------------------------------
    def fs(self, key: str) -> float:
        return _FS[key] * self.k

    def project(self, gdf: gpd.GeoDataFrame | gpd.GeoSeries, simplify: bool = False):
        """Reproject to EPSG:4549; optionally simplify to half a printed pixel."""
        if gdf.crs is None:
            raise InputError("a layer to draw has no CRS; declare it (WGS84 is EPSG:4326)")
        out = gdf.to_crs(METRIC_CRS)
        if simplify and len(out):
            geoms = shapely.simplify(np.asarray(out.geometry.values), self._simplify_m,
                                     preserve_topology=True)
            out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=METRIC_CRS))
        return out

    def _metres_per_pixel(self) -> float:
        x0, y0, x1, y1 = self.extent
        width_px = self.ax.get_position().width * self.w_mm / 25.4 * self.dpi
        return (x1 - x0) / max(width_px, 1.0)

    def _default_extent(self) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = self.bg.city.to_crs(METRIC_CRS).total_bounds
        return _pad((x0, y0, x1, y1), 0.04)

    def _fit_extent(self, ext) -> tuple[float, float, float, float]:
        """Grow the extent to the frame's aspect, so the map fills the frame at equal scale."""
        x0, y0, x1, y1 = ext
        pos = self.ax.get_position()
        frame = (pos.width * self.w_mm) / (pos.height * self.h_mm)
        cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
        if w / h < frame:
            w = h * frame
        else:
            h = w / frame
        ext = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        self.ax.set_xlim(ext[0], ext[2])
        self.ax.set_ylim(ext[1], ext[3])
        return ext

    # -- layout ----------------------------------------------------------------------
    def _layout(self) -> None:
        W, H, k = self.w_mm, self.h_mm, self.k
        m, gap = _MARGIN_MM * k, _GAP_MM * k
        top = H - m - _TITLE_MM * k
        bottom = m + _FOOTER_MM * k
        self.landscape = W / H > 1.15
        if self.landscape:
            panel_w = float(np.clip(0.27 * W, 55 * k, 0.36 * W))
            map_rect = (m, bottom, W - 2 * m - panel_w - gap, top - bottom)
            px = W - m - panel_w
            inset_h = min(panel_w * 0.72, (top - bottom) * 0.36)
            inset_rect = (px, top - inset_h, panel_w, inset_h)
            legend_rect = (px, bottom, panel_w, top - bottom - inset_h - gap)
        else:
            panel_h = float(np.clip(0.27 * H, 50 * k, 0.36 * H))
            map_rect = (m, bottom + panel_h + gap, W - 2 * m, top - bottom - panel_h - gap)
            inset_w = min(panel_h * 1.3, (W - 2 * m) * 0.4)
            inset_rect = (m, bottom, inset_w, panel_h)
            legend_rect = (m + inset_w + gap, bottom, W - 2 * m - inset_w - gap, panel_h)
        self.ax = self.fig.add_axes(self._frac(map_rect))
        self.inset = self.fig.add_axes(self._frac(inset_rect))
        self.panel = self.fig.add_axes(self._frac(legend_rect))
        self.panel.set_axis_off()
        for a in (self.ax, self.inset):
            a.set_facecolor(_SEA)
            a.set_aspect("equal", adjustable="box")
            for spine in a.spines.values():
                spine.set_linewidth(0.8 * k)
                spine.set_color(_INK)
        self.ax.set_aspect("equal", adjustable="datalim")
        self._title_y = (H - m) / H

    def _frac(self, rect_mm) -> list[float]:
        x, y, w, h = rect_mm
        return [x / self.w_mm, y / self.h_mm, w / self.w_mm, h / self.h_mm]

    # -- background --------------------------------------------------------------------
    @_styled
    def draw_background(self, *, counties: bool = True, city_labels: bool = True,
                        lake_labels: bool = True, city_fill: str | None = None,
                        boundaries_on_top: bool = False) -> None:
        """Land, neighbouring cities, study-area units and counties, lakes, rivers.

        ``boundaries_on_top`` draws the unit boundaries above the data (choropleths
        would hide them otherwise).
        """
        ax, k, bg = self.ax, self.k, self.bg
        clip = shapely.box(*_pad(self.extent, 0.05))
        if bg.land is not None:
            self._poly(bg.land, S.BACKGROUND["land"], clip=clip, lw_scale=0.0)
        if bg.context is not None:
            self._poly(bg.context, S.BACKGROUND["admin_context"], clip=clip)
        city = self.project(bg.city, simplify=True)
        land_style = S.BACKGROUND["land"]
        city.plot(ax=ax, facecolor=city_fill or land_style.fill, edgecolor="none", zorder=1)
        if counties and bg.county is not None:
            self._poly(bg.county, S.BACKGROUND["admin_county"], clip=clip, z=2)
        top = 9.0 if boundaries_on_top else 0.0
        self._poly(bg.city, S.BACKGROUND["admin_city"], clip=clip, z=3 + top, fill=False)
        outline = shapely.union_all(np.asarray(city.geometry.values))
        gpd.GeoSeries([outline], crs=METRIC_CRS).boundary.plot(
            ax=ax, color=S.BACKGROUND["study_area"].edge,
            linewidth=S.BACKGROUND["study_area"].width * 0.75 * k, zorder=4 + top)
        if bg.rivers is not None and len(bg.rivers):
            riv = self.project(bg.rivers, simplify=True)
            riv.plot(ax=ax, zorder=8.5, **_scaled(S.RIVER_STYLE.mpl(), k))
        if bg.lakes is not None and len(bg.lakes):
            # above choropleths and structures (z 6-7), below lines and symbols (z >= 10)
            self._poly(bg.lakes, S.BACKGROUND["lakes"], clip=clip, z=8)
        if city_labels:
            self._city_labels(city)
        if lake_labels and bg.lakes is not None:
            self._lake_labels()
        self._ticks()

    def _poly(self, gdf, st: S.AreaStyle, *, clip=None, z: float | None = None,
              fill: bool = True, lw_scale: float = 1.0) -> None:
        g = self.project(gdf, simplify=True)
        if clip is not None and len(g):
            g = g[g.intersects(clip)]
            g = g.set_geometry(g.geometry.intersection(clip))
        if not len(g):
            return
        g.plot(ax=self.ax, facecolor=st.mpl_facecolor() if fill else "none",
               edgecolor=st.edge if st.width * lw_scale > 0 else "none",
               linewidth=st.width * 0.75 * self.k * lw_scale,
               linestyle=(0, st.dash) if st.dash else "solid", zorder=st.z if z is None else z)

    def _city_labels(self, city: gpd.GeoDataFrame) -> None:
        col = "name" if self.lang == "zh" else "name_en"
        col = col if col in city.columns else "name"
        pts = city.geometry.representative_point()
        for (_, row), p in zip(city.iterrows(), pts, strict=True):
            self.labels.append(_Label(p.x, p.y, _short(row.get(col, "")), 10.0,
                                      self.fs("label_major"), color="#3B4A59", weight="bold",
                                      offsets=((0, 0), (0, 1), (0, -1))))

    def _lake_labels(self) -> None:
        lk = self.project(self.bg.lakes)
        col = "name_zh" if self.lang == "zh" else "name_en"
        if col not in lk.columns:
            return
        for _, row in lk.iterrows():
            area = row.geometry.area
            if area < 2e7:  # lakes under ~20 km² would be labelled over their shore
                continue
            p = row.geometry.representative_point() if row[col] != "太湖" else row.geometry.centroid
            big = area > 1e9
            self.labels.append(_Label(p.x, p.y, _short(row[col]), 9.0 if big else 5.0,
                                      self.fs("label_major" if big else "label"),
                                      color=S.LAKE_LABEL_COLOR, style="italic",
                                      offsets=((0, 0),), halo=False))

    def _ticks(self) -> None:
        """Longitude/latitude ticks where the graticule meets the frame (no grid lines)."""
        x0, y0, x1, y1 = self.extent
        xs = np.linspace(x0, x1, 400)
        lon_b, _ = metric_to_lonlat(xs, np.full_like(xs, y0))
        ys = np.linspace(y0, y1, 400)
        _, lat_l = metric_to_lonlat(np.full_like(ys, x0), ys)
        step = _nice_degrees(lon_b[-1] - lon_b[0])
        lons = np.arange(math.ceil(lon_b[0] / step) * step, lon_b[-1], step)
        lats = np.arange(math.ceil(lat_l[0] / step) * step, lat_l[-1], step)
        self.ax.set_xticks(np.interp(lons, lon_b, xs), [_deg(v, "E") for v in lons])
        self.ax.set_yticks(np.interp(lats, lat_l, ys), [_deg(v, "N") for v in lats])
        self.ax.tick_params(labelsize=self.fs("tick"), length=2.5 * self.k, width=0.5 * self.k,
                            direction="in", colors="#555555", pad=1.5 * self.k)
        for t in self.ax.get_yticklabels():
            t.set_rotation(90)
            t.set_verticalalignment("center")

    # -- data helpers ----------------------------------------------------------------
    def add_legend(self, title: str, handles: Sequence, labels: Sequence[str], ncol: int = 1) -> None:
        if handles:
            self.blocks.append(_Block(title, list(handles), [str(s) for s in labels], ncol))

    def add_label(self, x: float, y: float, text: str, priority: float = 0.0, *,
                  size: float | None = None, color: str = _INK, weight: str = "normal") -> None:
        if text:
            self.labels.append(_Label(x, y, text, priority, size or self.fs("label"),
                                      color=color, weight=weight))

    def note(self, text: str) -> None:
        self.notes.append(text)

    # -- furniture -----------------------------------------------------------------------
    @_styled
    def _finish(self) -> None:
        self._draw_title()
        self._draw_inset()
        for a in (self.ax, self.inset):  # geopandas labels axes with the CRS axis names
            a.set_xlabel("")
            a.set_ylabel("")
        self._draw_scalebar()
        self._draw_north()
        self._draw_legends()
        self._place_labels()
        self._draw_footer()

    def _draw_title(self) -> None:
        x = self.ax.get_position().x0
        self.fig.text(x, self._title_y, self.title, fontsize=self.fs("title"), weight="bold",
                      color=_INK, va="top", ha="left")
        if self.subtitle:
            y = self._title_y - (self.fs("title") * 1.55) / 72 / (self.h_mm / 25.4)
            self.fig.text(x, y, self.subtitle, fontsize=self.fs("subtitle"), color="#555555",
                          va="top", ha="left")

    def _draw_inset(self) -> None:
        ax, k, bg = self.inset, self.k, self.bg
        lon0, lat0, lon1, lat1 = INSET_BBOX
        xs, ys = lonlat_to_metric([lon0, lon1, lon0, lon1], [lat0, lat0, lat1, lat1])
        window = (min(xs), min(ys), max(xs), max(ys))
        box = shapely.box(*window)
        tol = (window[2] - window[0]) / 400.0
        if bg.land is not None:
            land = self._clip(bg.land, box, tol)
            land.plot(ax=ax, facecolor="#F3F1EC", edgecolor="#B8B2A6", linewidth=0.3 * k)
        if bg.context is not None:
            ctx = self._clip(bg.context, box, tol)
            ctx.plot(ax=ax, facecolor="#E6E3DC", edgecolor="#B8B2A6", linewidth=0.3 * k)
        city = self._clip(bg.city, box, tol)
        area = gpd.GeoSeries([shapely.union_all(np.asarray(city.geometry.values))], crs=METRIC_CRS)
        area.plot(ax=ax, facecolor="#C0392B", edgecolor="#7B241C", linewidth=0.4 * k, alpha=0.85)
        if bg.lakes is not None:
            lakes = self._clip(bg.lakes, box, tol)
            lakes.plot(ax=ax, facecolor=S.BACKGROUND["lakes"].fill, edgecolor="none")
        ex = shapely.box(*self.extent)
        gpd.GeoSeries([ex], crs=METRIC_CRS).boundary.plot(ax=ax, color=_INK, linewidth=0.7 * k,
                                                         linestyle=(0, (3, 1.5)))
        ax.set_xlim(window[0], window[2])
        ax.set_ylim(window[1], window[3])
        ax.set_xticks([])
        ax.set_yticks([])
        names = {"zh": ("长江三角洲", "上海", "南京", "杭州", "东海"),
                 "en": ("Yangtze Delta", "Shanghai", "Nanjing", "Hangzhou", "East China Sea")}[self.lang]
        for (lon, lat), text in zip(((121.47, 31.23), (118.8, 32.06), (120.16, 30.27),
                                     (122.95, 30.0)), names[1:], strict=True):
            x, y = lonlat_to_metric([lon], [lat])
            if text in ("东海", "East China Sea"):
                ax.text(x[0], y[0], text, fontsize=self.fs("note"), color=S.LAKE_LABEL_COLOR,
                        style="italic", ha="center", va="center", rotation=60)
            else:
                ax.plot(x, y, "o", ms=2.0 * k, color=_INK, zorder=5)
                ax.text(x[0], y[0] + 9000, text, fontsize=self.fs("note"), color=_INK,
                        ha="center", va="bottom", zorder=5, path_effects=_halo(self.k))
        ax.text(0.03, 0.97, names[0], transform=ax.transAxes, fontsize=self.fs("legend"),
                weight="bold", ha="left", va="top", color=_INK, path_effects=_halo(self.k))

    def _clip(self, gdf, box, tol):
        g = gdf.to_crs(METRIC_CRS)
        g = g[g.intersects(box)]
        geoms = shapely.simplify(shapely.intersection(np.asarray(g.geometry.values), box), tol)
        return gpd.GeoDataFrame(geometry=geoms, crs=METRIC_CRS)

    def _draw_scalebar(self) -> None:
        """Alternating black/white bar with round lengths; metres of EPSG:4549 are true."""
        from matplotlib.patches import Rectangle

        ax, k = self.ax, self.k
        x0, y0, x1, y1 = self.extent
        total = _nice_length((x1 - x0) * 0.22)
        n = 4 if str(int(total / 1000))[0] in "248" else 5
        seg = total / n
        h = (y1 - y0) * 0.009
        bx, by = x0 + (x1 - x0) * 0.035, y0 + (y1 - y0) * 0.045
        pad = (x1 - x0) * 0.012
        text_h = (y1 - y0) * 0.035
        ax.add_patch(Rectangle((bx - pad, by - pad), total + 2 * pad + (x1 - x0) * 0.05,
                               h + text_h + 1.6 * pad, facecolor="white", edgecolor="none",
                               alpha=0.85, zorder=30))
        for i in range(n):
            ax.add_patch(Rectangle((bx + i * seg, by), seg, h, facecolor=_INK if i % 2 == 0 else "white",
                                   edgecolor=_INK, linewidth=0.5 * k, zorder=31))
        unit = "公里" if self.lang == "zh" else "km"
        seg_pt = seg / (x1 - x0) * ax.get_position().width * self.w_mm / 25.4 * 72
        # every division when there is room for its number, else the ends and the middle
        marks = range(n + 1) if seg_pt > 2.2 * self.fs("scalebar") else sorted({0, n // 2, n} if n % 2 == 0 else {0, n})
        for i in marks:
            value = seg * i / 1000
            ax.text(bx + i * seg, by + h + pad * 0.4, f"{value:g}", fontsize=self.fs("scalebar"),
                    ha="center", va="bottom", color=_INK, zorder=32)
        ax.text(bx + total + pad * 0.8, by + h + pad * 0.4, unit, fontsize=self.fs("scalebar"),
                ha="left", va="bottom", color=_INK, zorder=32)
        self._occupied_data((bx - pad, by - pad, bx + total + (x1 - x0) * 0.06, by + h + text_h + pad))

    def _draw_north(self) -> None:
        """North arrow rotated by the meridian convergence at the map centre (true north)."""
        from matplotlib.patches import Polygon

        ax, k = self.ax, self.k
        x0, y0, x1, y1 = self.extent
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        lon, lat = metric_to_lonlat([cx], [cy])
        nx_, ny_ = lonlat_to_metric(lon, lat + 0.05)
        angle = math.atan2(nx_[0] - cx, ny_[0] - cy)  # clockwise from grid north
        size = (y1 - y0) * 0.065
        ax_x, ax_y = x1 - (x1 - x0) * 0.05, y1 - (y1 - y0) * 0.06 - size
        rot = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])

        def pts(shape):
            return [tuple(np.array([ax_x, ax_y]) + rot @ np.array(p) * size) for p in shape]

        left = [(0, 1.0), (-0.32, -0.15), (0, 0.12)]
        right = [(0, 1.0), (0.32, -0.15), (0, 0.12)]
        ax.add_patch(Polygon(pts(left), closed=True, facecolor=_INK, edgecolor=_INK,
                             linewidth=0.5 * k, zorder=31))
        ax.add_patch(Polygon(pts(right), closed=True, facecolor="white", edgecolor=_INK,
                             linewidth=0.5 * k, zorder=31))
        tip = pts([(0, 1.08)])[0]
        ax.text(tip[0], tip[1], "北" if self.lang == "zh" else "N", fontsize=self.fs("legend_title"),
                weight="bold", ha="center", va="bottom", color=_INK, zorder=32,
                path_effects=_halo(k))
        self._occupied_data((ax_x - 0.45 * size, ax_y - 0.25 * size, ax_x + 0.45 * size,
                             ax_y + 1.5 * size))

    def _draw_legends(self) -> None:
        """Stack the legend blocks in the panel, never over the map.

        When they overflow: first use two columns, then leave out optional blocks (the
        ranked list), then shrink the text, down to 60 %; past that, a counted warning.
        """
        renderer = self.fig.canvas.get_renderer()
        blocks = list(self.blocks)
        attempts = [(1.0, 1), (1.0, 2)]
        if any(b.optional for b in blocks):
            attempts += [(1.0, 1, "drop"), (1.0, 2, "drop")]
        attempts += [(sc, 2, "drop") for sc in (0.9, 0.8, 0.7, 0.6)]
        for attempt in attempts:
            scale, columns = attempt[0], attempt[1]
            use = [b for b in blocks if not (len(attempt) > 2 and b.optional)]
            columns = columns if self.landscape else max(2, min(3, len(use)))
            legends, ok = self._stack_legends(renderer, use, scale, columns)
            if ok:
                return
            for lg in legends:
                lg.remove()
        warn_count("legend block(s) that do not fit the panel (use a larger --size)", 1)
        self._stack_legends(renderer, [b for b in blocks if not b.optional], 0.6, 2)

    def _stack_legends(self, renderer, blocks, scale: float, columns: int):
        panel = self.panel
        legends = []
        col_w = 1.0 / columns
        col_y = [1.0] * columns
        for block in blocks:
            c = int(np.argmax(col_y))  # the column with most room left
            plain = {"handlelength": 0.0, "handletextpad": 0.0} if block.plain else \
                {"handlelength": 2.2, "handletextpad": 0.6}
            lg = panel.legend(block.handles, block.labels, title=block.title,
                              loc="upper left", bbox_to_anchor=(c * col_w, col_y[c]), frameon=False,
                              fontsize=self.fs("legend") * scale, ncol=block.ncol,
                              title_fontproperties={"size": self.fs("legend_title") * scale,
                                                    "weight": "bold"},
                              alignment="left", borderaxespad=0.0, borderpad=0.2,
                              handleheight=1.0, labelspacing=0.35, columnspacing=1.0, **plain)
            panel.add_artist(lg)
            legends.append(lg)
            bb = lg.get_window_extent(renderer).transformed(panel.transAxes.inverted())
            col_y[c] = bb.y0 - 0.03
            if bb.y0 < 0 or bb.x1 > (c + 1) * col_w + 0.01:
                return legends, False
        return legends, True

    def _occupied_data(self, rect) -> None:
        self._occupied = getattr(self, "_occupied", [])
        self._occupied.append(rect)

    def _place_labels(self) -> None:
        """Greedy label placement: by priority, first free position around the point."""
        from matplotlib.transforms import Bbox

        renderer = self.fig.canvas.get_renderer()
        trans = self.ax.transData
        frame = self.ax.get_window_extent(renderer)
        taken = [Bbox([trans.transform(r[:2]), trans.transform(r[2:])])
                 for r in getattr(self, "_occupied", [])]
        px_per_pt = self.dpi / 72.0
        for lb in sorted(self.labels, key=lambda lb: (-lb.priority, lb.text, lb.x, lb.y)):
            gap = 2.5 * px_per_pt * self.k
            for dx, dy in lb.offsets:
                ha = {1: "left", -1: "right", 0: "center"}[int(np.sign(dx))]
                va = {1: "bottom", -1: "top", 0: "center"}[int(np.sign(dy))]
                txt = self.ax.annotate(lb.text, (lb.x, lb.y), xytext=(dx * gap / px_per_pt * 1.0,
                                       dy * gap / px_per_pt), textcoords="offset points",
                                       ha=ha, va=va, fontsize=lb.size, color=lb.color,
                                       style=lb.style, weight=lb.weight, zorder=40,
                                       path_effects=_halo(self.k) if lb.halo else None,
                                       annotation_clip=False)
                bb = txt.get_window_extent(renderer).expanded(1.06, 1.12)
                inside = (bb.x0 >= frame.x0 and bb.x1 <= frame.x1 and bb.y0 >= frame.y0
                          and bb.y1 <= frame.y1)
                if inside and not any(bb.overlaps(t) for t in taken):
                    taken.append(bb)
                    break
                txt.remove()

    def _draw_footer(self) -> None:
        m = _MARGIN_MM * self.k
        sep = "；" if self.lang == "zh" else "; "
        items = [S.attribution([k], self.lang) for k in self.sources]
        items = [i for i in dict.fromkeys(items) if i]
        head = "数据来源：" if self.lang == "zh" else "Sources: "
        crs_note = ("坐标系：CGCS2000 / 3度带高斯-克吕格 中央经线120°E（EPSG:4549）"
                    if self.lang == "zh" else
                    "Projection: CGCS2000 / 3-degree Gauss-Kruger CM 120°E (EPSG:4549)")
        x = self.ax.get_position().x0
        width_px = (1.0 - 2 * x) * self.fig.bbox.width
        lines = self._wrap([head + items[0]] + items[1:] if items else [head], sep, width_px)
        lines += self.notes + [f"{crs_note}    {_credit(self.lang)}"]
        self.fig.text(x, m / self.h_mm, "\n".join(lines), fontsize=self.fs("note"),
                      color="#555555", ha="left", va="bottom", linespacing=1.35)

    def _wrap(self, items: list[str], sep: str, width_px: float) -> list[str]:
        """Join items with ``sep`` into lines no wider than ``width_px`` (measured)."""
        renderer = self.fig.canvas.get_renderer()
        probe = self.fig.text(0, 0, "", fontsize=self.fs("note"))
        lines, cur = [], ""
        for item in items:
            cand = f"{cur}{sep}{item}" if cur else item
            probe.set_text(cand)
            if cur and probe.get_window_extent(renderer).width > width_px:
                lines.append(cur + sep.rstrip())
                cur = item
            else:
                cur = cand
        probe.remove()
        return lines + ([cur] if cur else [])

    # -- output --------------------------------------------------------------------------
    @_styled
    def save(self, out: str | os.PathLike) -> Path:
        """Write PNG/SVG/PDF (by suffix) atomically and reproducibly."""
        out = _check_out(out)
        self._finish()
        _ensure_glyphs(self.fig)
        fmt = out.suffix.lower().lstrip(".")
        meta = _metadata(fmt, self.title)
        if fmt == "png":
            # Agg truncates inches*dpi; size the page to the rounded pixel count so an
            # A4 page at 300 dpi is 3508 x 2480 px, as printers expect.
            px_w, px_h = pixel_size((self.w_mm, self.h_mm), self.dpi)
            self.fig.set_size_inches((px_w + 0.01) / self.dpi, (px_h + 0.01) / self.dpi)
        try:
            with atomic_path(out) as tmp:
                self.fig.savefig(tmp, format=fmt, dpi=self.dpi, metadata=meta,
                                 facecolor=self.fig.get_facecolor())
        finally:
            self.fig.set_size_inches(self.w_mm / 25.4, self.h_mm / 25.4)
        return out


# --- the map kinds ---------------------------------------------------------------------

@_styled
def render_overview(background: Background, places: gpd.GeoDataFrame | None = None,
                    structures: gpd.GeoDataFrame | None = None, *, out, lang: str = "zh",
                    size=DEFAULT_SIZE, dpi: float = DEFAULT_DPI, title: str | None = None) -> Path:
    """The region, its units, lakes, innovation structures and places coloured by cluster."""
    out = _check_out(out)
    page = MapPage(background, title=title or S.label("title_overview", lang),
                   subtitle=_subtitle("overview", lang), lang=lang, size=size, dpi=dpi,
                   sources=("gazetteer", "seeds"))
    page.draw_background()
    if structures is not None and len(structures):
        _draw_structures(page, structures)
    if places is not None and len(places):
        _draw_places(page, places)
    return page.save(out)


@_styled
def render_transport(background: Background, edges: gpd.GeoDataFrame,
                     nodes: gpd.GeoDataFrame | None = None, *, out, lang: str = "zh",
                     size=DEFAULT_SIZE, dpi: float = DEFAULT_DPI, title: str | None = None) -> Path:
    """Expressways and rail by class and status; stations and interchanges."""
    out = _check_out(out)
    page = MapPage(background, title=title or S.label("title_transport", lang),
                   subtitle=_subtitle("transport", lang), lang=lang, size=size, dpi=dpi,
                   sources=("network",))
    page.draw_background()
    lines = _undirected(page.project(edges))
    _require_columns(lines, ("mode", "class", "status"), "edges")
    lines = lines[lines["mode"].isin(("road", "rail"))]
    if lines.empty:
        raise InputError("the network has no road or rail edges to draw")
    class_handles, class_labels = [], []
    for (mode, cls), grp in sorted(lines.groupby(["mode", "class"]), key=_line_order):
        for status, sub in grp.groupby(grp["status"].map(S.canonical_status)):
            st = S.line_style(mode, cls, status)
            z = 10 + (5 if mode == "rail" else 0) + st.width
            if mode == "rail":  # white casing makes rail read as rail over roads
                sub.plot(ax=page.ax, color="white", linewidth=(st.width + 1.6) * 0.75 * page.k,
                         zorder=z - 0.1)
            sub.plot(ax=page.ax, zorder=z, **_scaled(st.mpl(), page.k))
        base = S.line_style(mode, cls, "operating")
        class_handles.append(_line_handle(base, page.k))
        class_labels.append(S.label(str(cls).lower(), lang))
    page.add_legend(S.label("legend_transport", lang), class_handles, class_labels)
    statuses = [s for s in S.STATUS_DASH if s in set(lines["status"].map(S.canonical_status))]
    page.add_legend(S.label("legend_status", lang),
                    [_line_handle(S.LineStyle("#444444", 2.0, S.STATUS_DASH[s]), page.k) for s in statuses],
                    [S.label(s, lang) for s in statuses])
    if nodes is not None and len(nodes):
        _draw_transport_nodes(page, page.project(nodes))
    return page.save(out)


@_styled
def render_accessibility(background: Background, origins: gpd.GeoDataFrame, measure: str,
                         isochrones: gpd.GeoDataFrame | None = None, *, out, lang: str = "zh",
                         size=DEFAULT_SIZE, dpi: float = DEFAULT_DPI, scheme: str = "NaturalBreaks",
                         k: int = 5, title: str | None = None,
                         destinations: gpd.GeoDataFrame | None = None) -> Path:
    """Choropleth (polygons) or graduated points of one measure, with optional isochrones."""
    out = _check_out(out)
    _require_columns(origins, (measure,), "origins")
    values = pd.to_numeric(origins[measure], errors="coerce").to_numpy(dtype=float)
    cmap, reverse = S.cmap_for(measure)
    classes = S.classify(values, scheme, k, cmap=cmap, reverse=reverse)
    ttl = title or f"{S.label('title_accessibility', lang)}：{S.label(measure, lang)}" if lang == "zh" \
        else title or f"{S.label('title_accessibility', lang)}: {S.label(measure, lang)}"
    page = MapPage(background, title=ttl, subtitle=_subtitle("accessibility", lang, scheme),
                   lang=lang, size=size, dpi=dpi, sources=("network", "analysis"))
    page.draw_background(counties=False, boundaries_on_top=True)
    _draw_classes(page, page.project(origins), values, classes, S.label(measure, lang))
    if isochrones is not None and len(isochrones):
        _draw_isochrones(page, page.project(isochrones))
    if destinations is not None and len(destinations):
        _draw_destinations(page, page.project(destinations))
    return page.save(out)


@_styled
def render_scenario_delta(background: Background, origins: gpd.GeoDataFrame, measure: str, *,
                          out, lang: str = "zh", size=DEFAULT_SIZE, dpi: float = DEFAULT_DPI,
                          k: int = 7, title: str | None = None) -> Path:
    """Change of a measure between scenarios on a diverging scale centred on zero.

    For lower-is-better measures (times) a decrease is an improvement and is drawn blue;
    for others an increase is. The middle class holds zero.
    """
    out = _check_out(out)
    _require_columns(origins, (measure,), "origins")
    values = pd.to_numeric(origins[measure], errors="coerce").to_numpy(dtype=float)
    base = re.sub(r"^(delta_|d_)|_delta$", "", measure)
    cmap = S.DIVERGING_CMAP + ("_r" if S.lower_is_better(base) else "")
    classes = S.diverging_classes(values, k=k, cmap=cmap)
    change = "变化" if lang == "zh" else "change"
    ttl = title or (f"情景对比：{S.label(base, lang)}{change}" if lang == "zh"
                    else f"Scenario {change}: {S.label(base, lang)}")
    page = MapPage(background, title=ttl, subtitle=_subtitle("scenario-delta", lang),
                   lang=lang, size=size, dpi=dpi, sources=("network", "analysis"))
    page.draw_background(counties=False, boundaries_on_top=True)
    _draw_classes(page, page.project(origins), values, classes,
                  f"{S.label(base, lang)}{change if lang == 'zh' else ' (' + change + ')'}",
                  signed=True)
    return page.save(out)


@_styled
def render_node_strength(background: Background, nodes: gpd.GeoDataFrame,
                         flows: gpd.GeoDataFrame | None = None, *, out, lang: str = "zh",
                         size=DEFAULT_SIZE, dpi: float = DEFAULT_DPI, top: int = 10,
                         index_col: str = "composite_index", title: str | None = None) -> Path:
    """Proportional circles (area ~ index) coloured by tier, flow lines by interaction."""
    out = _check_out(out)
    _require_columns(nodes, (index_col,), "nodes")
    page = MapPage(background, title=title or S.label("title_node_strength", lang),
                   subtitle=_subtitle("node-strength", lang), lang=lang, size=size, dpi=dpi,
                   sources=("gazetteer", "network", "analysis"))
    page.draw_background(counties=False, city_labels=False)
    if flows is not None and len(flows):
        _draw_flows(page, page.project(flows))
    _draw_nodes(page, page.project(nodes), index_col, top)
    return page.save(out)


@_styled
def render_layer(background: Background, data: gpd.GeoDataFrame, *, out, column: str | None = None,
                 label_col: str | None = None, lang: str = "zh", size=DEFAULT_SIZE,
                 dpi: float = DEFAULT_DPI, scheme: str = "NaturalBreaks", k: int = 5,
                 title: str | None = None) -> Path:
    """Any user layer: one colour, classes of a numeric ``column`` or categories of a text one."""
    out = _check_out(out)
    if data.empty:
        raise InputError("the layer has no features to draw")
    if column is not None:
        _require_columns(data, (column,), "layer")
    g_wgs = data.to_crs(WGS84) if data.crs is not None else data
    extent = None
    bounds = g_wgs.total_bounds if len(g_wgs) else None
    if bounds is not None and np.all(np.isfinite(bounds)):
        xs, ys = lonlat_to_metric(bounds[[0, 2]], bounds[[1, 3]])
        extent = _pad((xs[0], ys[0], xs[1], ys[1]), 0.08, min_size=20_000.0)
    page = MapPage(background, title=title or S.label("title_layer", lang), lang=lang, size=size,
                   dpi=dpi, extent=extent, sources=("user",),
                   subtitle=(S.label(column, lang) if column else ""))
    page.draw_background(counties=True, boundaries_on_top=bool(data.geom_type.isin(("Polygon", "MultiPolygon")).any()))
    g = page.project(data)
    if column is None:
        _draw_single(page, g, S.label("features", lang))
    elif pd.api.types.is_numeric_dtype(g[column]):
        values = pd.to_numeric(g[column], errors="coerce").to_numpy(dtype=float)
        cmap, reverse = S.cmap_for(column)
        _draw_classes(page, g, values, S.classify(values, scheme, k, cmap=cmap, reverse=reverse),
                      S.label(column, lang))
    else:
        _draw_categories(page, g, column)
    if label_col:
        _require_columns(g, (label_col,), "layer")
        for p, text in zip(_anchor_points(g), g[label_col], strict=True):
            page.add_label(p.x, p.y, _short(text), 1.0)
    return page.save(out)


# --- drawing pieces ---------------------------------------------------------------------

def _draw_structures(page: MapPage, structures: gpd.GeoDataFrame) -> None:
    from matplotlib.patches import Patch

    key = "structure" if "structure" in structures.columns else "id"
    _require_columns(structures, (key,), "structures")
    g = page.project(structures, simplify=True)
    handles, labels = [], []
    order = sorted(g[key].unique(), key=lambda s: S.STRUCTURES.get(s, S.STRUCTURES["wusong_belt"]).z)
    for sid in order:
        st = S.STRUCTURES.get(sid)
        if st is None:
            continue
        sub = g[g[key] == sid]
        sub.plot(ax=page.ax, facecolor=st.mpl_facecolor(), edgecolor=st.edge,
                 linewidth=st.width * 0.75 * page.k, linestyle=(0, st.dash) if st.dash else "solid",
                 zorder=6 + st.z / 10)
        handles.append(Patch(facecolor=st.mpl_facecolor(), edgecolor=st.edge,
                             linewidth=st.width * 0.75 * page.k,
                             linestyle=(0, st.dash) if st.dash else "solid"))
        labels.append(S.label(sid, page.lang))
    page.add_legend(S.label("legend_structures", page.lang), handles, labels)


#: Place kinds drawn on the overview, with their marker; hubs belong to the transport map.
_PLACE_MARKERS = {"park": "o", "science_city": "o", "district_zone": "o", "lake_area": "o",
                  "corridor_node": "o", "institute": "^", "lab": "^", "platform": "^", "campus": "s"}
#: Places whose position only means "somewhere in this city" are not drawn as points.
_MAX_PLACE_PRECISION_M = 9_999.0


def _draw_places(page: MapPage, places: gpd.GeoDataFrame) -> None:
    from matplotlib.lines import Line2D

    g = page.project(places)
    g = g[g.geometry.notna() & ~g.geometry.is_empty]
    if "kind" in g.columns:
        g = g[g["kind"].isin(_PLACE_MARKERS)]
    if "precision_m" in g.columns:
        prec = pd.to_numeric(g["precision_m"], errors="coerce")
        g = g[prec.isna() | (prec <= _MAX_PLACE_PRECISION_M)]
    if "status" in g.columns:
        g = g[g["status"].astype(str) != "unlocated"]
    if g.empty:
        return
    clusters = g["clusters"] if "clusters" in g.columns else pd.Series([None] * len(g), index=g.index)
    colors = [S.cluster_color(c) for c in clusters]
    families = [S.cluster_family(S.split_clusters(c)[0]) if S.split_clusters(c) else "其他"
                for c in clusters]
    planned = g["status"].map(S.canonical_status).ne("operating") if "status" in g.columns \
        else pd.Series(False, index=g.index)
    ms = 5.2 * page.k
    for (_i, row), color, is_planned in zip(g.iterrows(), colors, planned, strict=True):
        marker = _PLACE_MARKERS.get(row.get("kind"), "o")
        page.ax.plot([row.geometry.x], [row.geometry.y], marker=marker, ms=ms,
                     mfc="white" if is_planned else color, mec=color if is_planned else "white",
                     mew=1.1 * page.k if is_planned else 0.6 * page.k, zorder=20, ls="none")
        name = _place_name(row, page.lang)
        prio = {"science_city": 5, "park": 4, "institute": 3, "lab": 3}.get(row.get("kind"), 2)
        page.add_label(row.geometry.x, row.geometry.y, name, prio + (1 if row.get("clusters") else 0),
                       size=page.fs("label"))
    present = [f for f in S.CLUSTER_FAMILIES if f in set(families)]
    page.add_legend(S.label("legend_clusters", page.lang),
                    [Line2D([], [], marker="o", ls="none", ms=ms, mfc=S.CLUSTER_FAMILIES[f][2],
                            mec="white") for f in present],
                    [S.cluster_name(f, page.lang) for f in present])
    kinds_present = [kd for kd in ("park", "institute", "campus") if kd in set(g.get("kind", []))]
    handles = [Line2D([], [], marker=_PLACE_MARKERS[kd], ls="none", ms=ms, mfc="#777777", mec="white")
               for kd in kinds_present]
    labels = [_kind_group_label(kd, page.lang) for kd in kinds_present]
    if planned.any():
        handles.append(Line2D([], [], marker="o", ls="none", ms=ms, mfc="white", mec="#777777",
                              mew=1.1 * page.k))
        labels.append(S.label("planned", page.lang) + ("/在建" if page.lang == "zh" else " / under construction"))
    page.add_legend(S.label("places", page.lang), handles, labels)


def _kind_group_label(kind: str, lang: str) -> str:
    groups = {"park": ("园区、科学城与片区", "Parks, science cities, zones"),
              "institute": ("科研院所、实验室与平台", "Institutes, labs, platforms"),
              "campus": ("高校校区", "University campuses")}
    return groups[kind][0 if lang == "zh" else 1]


def _draw_transport_nodes(page: MapPage, nodes: gpd.GeoDataFrame) -> None:
    from matplotlib.lines import Line2D

    if "kind" not in nodes.columns:
        return
    handles, labels = [], []
    name_col = "name" if "name" in nodes.columns else None
    for kind, key in (("interchange", "interchange"), ("station", "station"),
                      ("interchange_station", "station")):
        sub = nodes[nodes["kind"] == kind]
        if sub.empty:
            continue
        fill, edge, radius = S.NODE_MARKERS[key]
        ms = radius * 1.5 * page.k
        page.ax.plot(sub.geometry.x, sub.geometry.y, "o", ms=ms, mfc=fill, mec=edge,
                     mew=1.0 * page.k, zorder=30, ls="none")
        if key not in labels and S.label(key, page.lang) not in labels:
            handles.append(Line2D([], [], marker="o", ls="none", ms=ms, mfc=fill, mec=edge,
                                  mew=1.0 * page.k))
            labels.append(S.label(key, page.lang))
        if name_col and key == "station":
            for p, text in zip(sub.geometry, sub[name_col], strict=True):
                page.add_label(p.x, p.y, _short(text), 2.0, size=page.fs("label"))
    if handles:
        page.add_legend("车站与立交" if page.lang == "zh" else "Stations and interchanges", handles, labels)


def _draw_classes(page: MapPage, g: gpd.GeoDataFrame, values: np.ndarray, classes, title: str,
                  signed: bool = False) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    colors = np.asarray(classes.color_of(values), dtype=object)
    polys = g.geom_type.isin(("Polygon", "MultiPolygon")).to_numpy()
    if polys.any():
        gp = g[polys]
        # Tens of thousands of cells make PDF/SVG slow to open: draw them as an image
        # (at the page dpi) there; legends, labels and lines stay vector.
        # Edges in the fill colour close the anti-aliasing seams between cells.
        gp.plot(ax=page.ax, color=list(colors[polys]), edgecolor=list(colors[polys]),
                linewidth=0.2 * page.k, zorder=6, rasterized=len(gp) > RASTERIZE_ABOVE)
    if (~polys).any():
        gx = g[~polys]
        pts = gx.geometry.representative_point() if not gx.geom_type.eq("Point").all() else gx.geometry
        page.ax.scatter(pts.x, pts.y, s=(5.5 * page.k) ** 2, c=list(colors[~polys]),
                        edgecolors="white", linewidths=0.3 * page.k, zorder=20)
    labels = list(classes.labels)
    if signed:
        labels = [_signed_label(lo, hi) for lo, hi in zip([classes.lower, *classes.bins[:-1]],
                                                           classes.bins, strict=True)]
    n_nan = int(np.isnan(values).sum())
    counts = classes.counts if classes.counts else [0] * classes.k
    mk = (lambda c: Patch(facecolor=c, edgecolor="none")) if polys.any() else \
        (lambda c: Line2D([], [], marker="o", ls="none", ms=5.5 * page.k, mfc=c, mec="white"))
    handles = [mk(c) for c in classes.colors]
    labels = [f"{lab}  ({n:,})" for lab, n in zip(labels, counts, strict=True)]
    if n_nan:
        handles.append(mk(classes.nodata_color))
        labels.append(f"{S.label('nodata', page.lang)}  ({n_nan:,})")
    scheme = _scheme_name(classes.scheme, page.lang, signed)
    page.add_legend(f"{title}\n{scheme}", handles, labels)


def _draw_isochrones(page: MapPage, iso: gpd.GeoDataFrame) -> None:
    from matplotlib.lines import Line2D

    _require_columns(iso, ("minutes",), "isochrones")
    minutes = sorted(pd.to_numeric(iso["minutes"], errors="coerce").dropna().unique())
    # darker for shorter times; light greys would vanish on the choropleth
    greys = np.linspace(0.10, 0.55, max(len(minutes), 1))
    shades = [f"#{int(g * 255):02x}{int(g * 255):02x}{int(g * 255):02x}" for g in greys][: len(minutes)]
    handles, labels = [], []
    for mins, color in zip(minutes, shades, strict=True):
        sub = iso[pd.to_numeric(iso["minutes"], errors="coerce") == mins]
        sub.boundary.plot(ax=page.ax, color=color, linewidth=1.1 * page.k, zorder=25,
                          linestyle=(0, (4, 2)))
        handles.append(Line2D([], [], color=color, lw=1.1 * page.k, ls=(0, (4, 2))))
        labels.append(f"{mins:g} {S.label('minutes', page.lang)}")
    page.add_legend(S.label("isochrones", page.lang), handles, labels)


def _draw_destinations(page: MapPage, dest: gpd.GeoDataFrame) -> None:
    from matplotlib.lines import Line2D

    pts = _anchor_points(dest)
    page.ax.plot(pts.x, pts.y, "*", ms=7 * page.k, mfc="#C0392B", mec="white", mew=0.5 * page.k,
                 zorder=30, ls="none")
    name_col = next((c for c in ("name_zh", "name") if c in dest.columns), None) \
        if page.lang == "zh" else next((c for c in ("name_en", "name") if c in dest.columns), None)
    if name_col:
        for p, text in zip(pts, dest[name_col], strict=True):
            page.add_label(p.x, p.y, _short(text), 3.0)
    page.add_legend(S.label("nodes", page.lang),
                    [Line2D([], [], marker="*", ls="none", ms=7 * page.k, mfc="#C0392B", mec="white")],
                    [S.label("dest_id", page.lang)])


def _flow_widths(w: np.ndarray, k: float) -> tuple[np.ndarray, float]:
    wmax = float(np.nanmax(w)) if len(w) and np.isfinite(np.nanmax(w)) and np.nanmax(w) > 0 else 1.0
    return 0.3 * k + 3.2 * k * np.sqrt(np.clip(w, 0, None) / wmax), wmax


def _draw_flows(page: MapPage, flows: gpd.GeoDataFrame) -> None:
    from matplotlib.lines import Line2D

    _require_columns(flows, ("w_ij",), "flows")
    w = pd.to_numeric(flows["w_ij"], errors="coerce").fillna(0).to_numpy(dtype=float)
    order = np.argsort(w, kind="stable")  # strongest on top
    widths, wmax = _flow_widths(w, page.k)
    g = flows.iloc[order]
    g.plot(ax=page.ax, color=S.FLOW_COLOR, linewidth=list(widths[order]), alpha=0.55, zorder=15)
    refs = [wmax * f for f in (1.0, 0.5, 0.1)]
    page.add_legend(S.label("legend_flow", page.lang),
                    [Line2D([], [], color=S.FLOW_COLOR, alpha=0.55,
                            lw=float(0.3 * page.k + 3.2 * page.k * math.sqrt(r / wmax)))
                     for r in refs], [S.fmt_number(r, small_sig=2) for r in refs])


def _draw_nodes(page: MapPage, nodes: gpd.GeoDataFrame, index_col: str, top: int) -> None:
    from matplotlib.lines import Line2D

    idx = pd.to_numeric(nodes[index_col], errors="coerce").fillna(0).clip(lower=0).to_numpy(float)
    imax = idx.max() if idx.size and idx.max() > 0 else 1.0
    max_ms = 16.0 * page.k  # marker diameter (points) of the strongest node
    ms = np.maximum(max_ms * np.sqrt(idx / imax), 2.0 * page.k)  # area ~ index
    tiers = nodes["tier"] if "tier" in nodes.columns else pd.Series([None] * len(nodes), index=nodes.index)
    order = np.argsort(-idx, kind="stable")  # big circles first, small ones stay visible
    pts = _anchor_points(nodes)
    for i in order:
        page.ax.plot([pts.iloc[i].x], [pts.iloc[i].y], "o", ms=ms[i], mfc=S.tier_color(tiers.iloc[i]),
                     mec="white", mew=0.6 * page.k, alpha=0.92, zorder=20, ls="none")
    name_col = _name_col(nodes, page.lang)
    rank = pd.to_numeric(nodes["rank"], errors="coerce") if "rank" in nodes.columns else \
        pd.Series(pd.Series(-idx).rank(method="first").to_numpy(), index=nodes.index)
    if name_col:
        for i in range(len(nodes)):
            r = rank.iloc[i]
            page.add_label(pts.iloc[i].x, pts.iloc[i].y, _short(nodes[name_col].iloc[i]),
                           100 - (r if np.isfinite(r) else 99),
                           size=page.fs("label_major" if r <= 5 else "label"))
    tiers_present = S.tiers_present(tiers)
    page.add_legend(S.label("legend_tier", page.lang),
                    [Line2D([], [], marker="o", ls="none", ms=8 * page.k, mfc=S.tier_color(t), mec="white")
                     for t in tiers_present],
                    [S.tier_name(t, page.lang) for t in tiers_present])
    refs = [imax, imax / 2, imax / 8]
    page.add_legend(S.label("legend_size", page.lang),
                    [Line2D([], [], marker="o", ls="none", ms=max_ms * math.sqrt(r / imax),
                            mfc="none", mec="#555555") for r in refs], [S.fmt_number(r, small_sig=2) for r in refs])
    if name_col and top > 0:
        _ranking_table(page, nodes, name_col, idx, rank, top)


def _ranking_table(page: MapPage, nodes, name_col, idx, rank, top: int) -> None:
    """A ranked list of the top nodes, written into the legend panel as a text block."""
    order = np.argsort(rank.fillna(np.inf).to_numpy(), kind="stable")[:top]
    rows = [f"{int(rank.iloc[i]) if np.isfinite(rank.iloc[i]) else '-':>2}  {_short(nodes[name_col].iloc[i], 14)}"
            f"  {S.fmt_number(idx[i], small_sig=2)}" for i in order]
    from matplotlib.lines import Line2D

    blank = [Line2D([], [], ls="none") for _ in rows]
    block = _Block(S.label("ranking", page.lang), blank, rows, plain=True, optional=True)
    page.blocks.append(block)


def _draw_single(page: MapPage, g: gpd.GeoDataFrame, title: str) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    color = "#0072B2"
    kinds = set(g.geom_type)
    handles = []
    if kinds & {"Polygon", "MultiPolygon"}:
        gp = g[g.geom_type.isin(("Polygon", "MultiPolygon"))]
        gp.plot(ax=page.ax, facecolor=color, alpha=0.35, edgecolor=color, linewidth=0.6 * page.k, zorder=6)
        handles.append(Patch(facecolor=color, alpha=0.35, edgecolor=color))
    if kinds & {"LineString", "MultiLineString"}:
        gl = g[g.geom_type.isin(("LineString", "MultiLineString"))]
        gl.plot(ax=page.ax, color=color, linewidth=1.2 * page.k, zorder=7)
        handles.append(Line2D([], [], color=color, lw=1.2 * page.k))
    if kinds & {"Point", "MultiPoint"}:
        gx = g[g.geom_type.isin(("Point", "MultiPoint"))]
        pts = _anchor_points(gx)
        page.ax.plot(pts.x, pts.y, "o", ms=5.5 * page.k, mfc=color, mec="white", mew=0.5 * page.k,
                     zorder=20, ls="none")
        handles.append(Line2D([], [], marker="o", ls="none", ms=4 * page.k, mfc=color, mec="white"))
    page.add_legend(title, handles, [f"{title} ({len(g):,})"] + [""] * (len(handles) - 1))


def _draw_categories(page: MapPage, g: gpd.GeoDataFrame, column: str) -> None:
    from matplotlib.lines import Line2D

    cats = g[column].astype(str).fillna("")
    counts = cats.value_counts()
    top = sorted(counts.index[:10], key=lambda c: (-counts[c], c))
    palette = [v[2] for v in S.CLUSTER_FAMILIES.values()][:-1] + ["#56B4E9", "#F0E442", "#999933", "#882255"]
    color_of = {c: palette[i % len(palette)] for i, c in enumerate(top)}
    other = "#9E9E9E"
    colors = [color_of.get(c, other) for c in cats]
    polys = g.geom_type.isin(("Polygon", "MultiPolygon")).to_numpy()
    if polys.any():
        g[polys].plot(ax=page.ax, color=[c for c, p in zip(colors, polys, strict=True) if p],
                      edgecolor="white", linewidth=0.3 * page.k, zorder=6, alpha=0.85)
    if (~polys).any():
        pts = _anchor_points(g[~polys])
        page.ax.scatter(pts.x, pts.y, s=(5.5 * page.k) ** 2,
                        c=[c for c, p in zip(colors, polys, strict=True) if not p],
                        edgecolors="white", linewidths=0.3 * page.k, zorder=20)
    labels = [f"{_short(c, 20)} ({counts[c]:,})" for c in top]
    handles = [Line2D([], [], marker="o", ls="none", ms=6 * page.k, mfc=color_of[c], mec="white") for c in top]
    if len(counts) > len(top):
        handles.append(Line2D([], [], marker="o", ls="none", ms=6 * page.k, mfc=other, mec="white"))
        labels.append(("其他" if page.lang == "zh" else "other") + f" ({int(counts.iloc[10:].sum()):,})")
    page.add_legend(S.label(column, page.lang), handles, labels)


# --- small helpers ----------------------------------------------------------------------

def _check_text_font(texts) -> None:
    """Fail before drawing when Chinese text is asked for and no CJK font exists."""
    latin = fonts._fallback_cmap()
    if any(ord(ch) not in latin for t in texts if t for ch in str(t) if not ch.isspace()):
        fonts.cjk_font()  # raises MissingDependencyError naming fonts-noto-cjk


def _ensure_glyphs(fig) -> None:
    """Every character drawn must be in the CJK face or the Latin fallback: no tofu.

    Without a CJK font any Chinese character raises MissingDependencyError naming the
    package. With one, characters neither font has (rare symbols in user data) are
    dropped with a counted DataWarning.
    """
    from matplotlib.text import Text

    texts = [t for t in fig.findobj(Text) if t.get_text()]
    try:
        font = fonts.cjk_font()
    except MissingDependencyError:
        font = None
    if font is None:
        latin = fonts._fallback_cmap()
        bad = sorted({ch for t in texts for ch in t.get_text() if not ch.isspace() and ord(ch) not in latin})
        if bad:
            fonts.find_cjk_font()  # raises the error that names the package
        return
    bad_texts = [(t, fonts.missing_glyphs(font, t.get_text())) for t in texts]
    bad_texts = [(t, b) for t, b in bad_texts if b]
    for t, bad in bad_texts:
        t.set_text("".join(ch for ch in t.get_text() if ch not in bad))
    if bad_texts:
        chars = sorted({ch for _, b in bad_texts for ch in b})
        warn_count("labels with characters no installed font can draw (characters dropped)",
                   len(bad_texts), chars)


def _metadata(fmt: str, title: str) -> dict:
    # No dates and no version-dependent strings beyond ours: identical bytes every run.
    creator = f"kechuang-gis {__version__}"
    if fmt == "png":
        return {"Title": title, "Software": creator}
    if fmt == "pdf":
        return {"Title": title, "Creator": creator, "Producer": creator, "CreationDate": None,
                "ModDate": None}
    if fmt == "svg":
        return {"Title": title, "Creator": creator, "Date": None}
    return {}


def _halo(k: float):
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=2.2 * k, foreground="white", alpha=0.85)]


def _scaled(kw: dict, k: float) -> dict:
    kw = dict(kw)
    kw["linewidth"] = kw.get("linewidth", 1.0) * k
    return kw


def _line_handle(st: S.LineStyle, k: float):
    from matplotlib.lines import Line2D

    return Line2D([], [], **_scaled(st.mpl(), k))


def _line_order(item):
    (mode, cls), _ = item
    ranks = list(S.ROAD_CLASSES) + list(S.RAIL_CLASSES)
    key = str(cls).lower()
    return (mode == "rail", ranks.index(key) if key in ranks else len(ranks), key)


def _undirected(edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per link: directed twins (u->v, v->u of the same line) draw once."""
    if not {"u", "v"} <= set(edges.columns):
        return edges
    a = np.minimum(edges["u"].to_numpy(), edges["v"].to_numpy())
    b = np.maximum(edges["u"].to_numpy(), edges["v"].to_numpy())
    keys = pd.DataFrame({"a": a, "b": b, "mode": edges.get("mode"), "class": edges.get("class"),
                         "status": edges.get("status")})
    return edges[~keys.duplicated().to_numpy()]


def _require_columns(df, cols: Iterable[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what}: missing column(s) {', '.join(missing)} "
                         f"(columns: {', '.join(map(str, df.columns))})")


def _anchor_points(g: gpd.GeoDataFrame) -> gpd.GeoSeries:
    geoms = g.geometry
    return geoms.where(geoms.geom_type == "Point", geoms.representative_point())


def _name_col(df, lang: str) -> str | None:
    prefs = ("name_zh", "name", "name_en") if lang == "zh" else ("name_en", "name", "name_zh")
    return next((c for c in prefs if c in df.columns), None)


def _place_name(row, lang: str) -> str:
    if lang == "en" and isinstance(row.get("name_en"), str) and row.get("name_en"):
        return _short(row["name_en"], 30)
    return _short(row.get("name_zh") or row.get("name") or "", 14)


def _short(text, limit: int = 24) -> str:
    """A label: drop parenthesised notes, cut overly long names with an ellipsis."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    s = re.sub(r"\s*[（(][^）)]*[）)]\s*", "", str(text)).strip() or str(text).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _signed_label(lo: float, hi: float) -> str:
    def f(v):
        s = S.fmt_number(v, small_sig=2)
        return f"+{s}" if v > 0 and not s.startswith("+") else s

    return f"{f(lo)} – {f(hi)}"


def _pad(ext, frac: float, min_size: float = 0.0):
    x0, y0, x1, y1 = ext
    w, h = max(x1 - x0, min_size), max(y1 - y0, min_size)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - w / 2 - w * frac, cy - h / 2 - h * frac, cx + w / 2 + w * frac, cy + h / 2 + h * frac)


def _nice_length(target_m: float) -> float:
    """The largest 1/2/5 x 10^n kilometre length not above ``target_m``."""
    if target_m <= 0:
        return 1000.0
    exp = math.floor(math.log10(target_m))
    for mult in (5, 2, 1):
        v = mult * 10 ** exp
        if v <= target_m:
            return float(max(v, 100.0))
    return float(10 ** exp)


def _nice_degrees(span: float) -> float:
    for step in (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0):
        if span / step <= 7:
            return step
    return 10.0


def _deg(v: float, hemi: str) -> str:
    d = abs(v)
    whole = int(math.floor(d + 1e-9))
    minutes = int(round((d - whole) * 60))
    if minutes == 60:
        whole, minutes = whole + 1, 0
    return f"{whole}°{minutes:02d}′{hemi}" if minutes else f"{whole}°{hemi}"


#: Classification schemes as a legend names them.
_SCHEME_NAMES = {"NaturalBreaks": ("自然间断点", "natural breaks"), "FisherJenks": ("自然间断点", "natural breaks"),
                 "Quantiles": ("分位数", "quantiles"), "EqualInterval": ("等间距", "equal intervals"),
                 "HeadTailBreaks": ("头尾断点", "head/tail breaks"), "BoxPlot": ("箱线图", "box plot"),
                 "StdMean": ("标准差", "standard deviations"), "UserDefined": ("自定义", "user-defined")}


def _scheme_name(scheme: str, lang: str, signed: bool = False) -> str:
    if signed:
        return "分级：以0为中心对称" if lang == "zh" else "classes: symmetric around 0"
    zh, en = _SCHEME_NAMES.get(scheme, (scheme, scheme))
    return f"分级：{zh}" if lang == "zh" else f"classes: {en}"


def _credit(lang: str) -> str:
    return f"制图：kechuang-gis {__version__}" if lang == "zh" else f"Map: kechuang-gis {__version__}"


def _subtitle(kind: str, lang: str, scheme: str = "") -> str:
    zh = {"overview": "两区六市：上海市嘉定区、青浦区，苏州、无锡、常州、湖州、嘉兴、宣城市",
          "transport": "高速公路与铁路，按等级与建设状态",
          "accessibility": "出行时间基于路网与铁路模型估算",
          "scenario-delta": "情景与基准之差",
          "node-strength": "圆面积表示综合指数，线宽表示节点间联系强度"}
    en = {"overview": "Two districts and six cities: Jiading and Qingpu (Shanghai), Suzhou, Wuxi, "
                      "Changzhou, Huzhou, Jiaxing, Xuancheng",
          "transport": "Expressways and railways by class and status",
          "accessibility": "Travel times estimated on the road and rail model",
          "scenario-delta": "Scenario minus baseline",
          "node-strength": "Circle area: composite index; line width: interaction"}
    return (zh if lang == "zh" else en).get(kind, "")

