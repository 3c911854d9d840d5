"""The three innovation structures, derived by code from the other layers.

Nothing here is drawn by hand; each shape follows from documented parameters:

* ``taihu_circle_region`` (环太湖科创圈, region): the union of the 两区六市 units, the
  definition of seed 000.
* ``taihu_circle_core`` (环太湖科创圈, Suzhou lakeside core): land within
  ``core_distance_m`` of the Taihu shore inside the Suzhou counties that touch the lake.
* ``wusong_belt`` (吴淞江科创带): land within ``wusong_half_width_m`` of the Wusong River
  from Taihu to the Shanghai boundary (the river clipped to Suzhou), with member parks.
* ``yatai_belt`` (亚太路科创带): the Yatai Road axis in Nanhu District (through published
  waypoints when available, else through its three 科创板块 from north to south),
  buffered by ``yatai_half_width_m``, with the three 科创板块 as members.

All geometry is computed in EPSG:4549 and returned in WGS84.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import shapely

from ..errors import InputError
from ..settings import METRIC_CRS, WGS84
from . import admin, gazetteer, water

SUZHOU = "320500"
NANHU = "330402"
#: The three 科创板块 of the Yatai Road belt named by seed 003.
YATAI_MEMBER_NAMES = ("湘家荡科创湖区", "南湖高新区", "凤凰科技新城")


@dataclass(frozen=True)
class StructureParams:
    core_distance_m: float = 10_000.0
    #: A Suzhou county is "lakeside" when its polygon comes this close to the Taihu polygon
    #: (the lake polygon is ~500 m precise, so a small tolerance is needed).
    lakeside_tolerance_m: float = 1_000.0
    #: Precision of the lake outline (Natural Earth 1:10m): parts of the core thinner
    #: than this are artefacts of two sources disagreeing, not land.
    lake_precision_m: float = 500.0
    wusong_half_width_m: float = 3_000.0
    yatai_half_width_m: float = 2_000.0


def _metric(geom: shapely.Geometry) -> shapely.Geometry:
    return gpd.GeoSeries([geom], crs=WGS84).to_crs(METRIC_CRS).iloc[0]


def _wgs(geom: shapely.Geometry) -> shapely.Geometry:
    return gpd.GeoSeries([geom], crs=METRIC_CRS).to_crs(WGS84).iloc[0]


def _members(gaz: gpd.GeoDataFrame, area_m: shapely.Geometry) -> list[str]:
    pts = gaz[gaz.geometry.notna() & gaz["kind"].isin(gazetteer.PARK_KINDS)]
    pts_m = pts.to_crs(METRIC_CRS)
    inside = shapely.within(np.asarray(pts_m.geometry.representative_point().values), area_m)
    return sorted(pts.loc[inside, "id"].tolist())


def build_structures(params: StructureParams | None = None) -> gpd.GeoDataFrame:
    """The structures layer: one row per structure with members, parameters and area."""
    p = params or StructureParams()
    cities = admin.admin_city().to_crs(METRIC_CRS)
    counties = admin.admin_county().to_crs(METRIC_CRS)
    lakes_m = shapely.union_all(np.asarray(water.lakes().to_crs(METRIC_CRS).geometry.values))
    taihu_m = _metric(water.taihu())
    gaz = gazetteer.load_gazetteer(located_only=True)
    rows = []

    region = shapely.union_all(np.asarray(cities.geometry.values))
    rows.append(_row("taihu_circle_region", "环太湖科创圈（两区六市）", "Taihu innovation circle (region)",
                     region, _members(gaz, region),
                     "union of the eight 两区六市 units (seed 000)", {}))

    sz = counties[counties["city_adcode"] == SUZHOU]
    lakeside = sz[sz.geometry.distance(taihu_m) <= p.lakeside_tolerance_m]
    if lakeside.empty:
        raise InputError("no Suzhou county touches the Taihu polygon; check geodata/lakes.geojson")
    lakeside_union = shapely.union_all(np.asarray(lakeside.geometry.values))
    core = taihu_m.buffer(p.core_distance_m).intersection(lakeside_union).difference(lakes_m)
    # AMap's lakeside counties include Taihu's water up to the far shore, and the Natural
    # Earth lake outline (~500 m precise) does not follow their edges exactly: the slivers
    # between the two are not land. An opening at the lake outline's precision removes
    # every part thinner than that precision and keeps the real shore band.
    core = core.buffer(-p.lake_precision_m).buffer(p.lake_precision_m).intersection(lakeside_union)
    rows.append(_row("taihu_circle_core", "环太湖科创圈（苏州环湖核心）", "Taihu innovation circle (Suzhou lakeside core)",
                     core, _members(gaz, core),
                     f"land within {p.core_distance_m:.0f} m of the Taihu shore in the Suzhou lakeside "
                     f"counties {', '.join(lakeside['name'])}",
                     {"core_distance_m": p.core_distance_m, "lakeside_tolerance_m": p.lakeside_tolerance_m,
                      "lakeside_counties": sorted(lakeside["adcode"])}))

    rivers = water.rivers()
    wusong = rivers[rivers["id"] == "wusong_river"]
    if not wusong.empty:
        suzhou_m = shapely.union_all(np.asarray(sz.geometry.values))
        river_m = wusong.to_crs(METRIC_CRS).geometry.iloc[0].intersection(suzhou_m)
        belt = river_m.buffer(p.wusong_half_width_m).intersection(suzhou_m).difference(lakes_m)
        rows.append(_row("wusong_belt", "吴淞江科创带", "Wusong River innovation belt", belt,
                         _members(gaz, belt),
                         f"land within {p.wusong_half_width_m:.0f} m each side of the Wusong River, "
                         "from Taihu to the Shanghai boundary (river clipped to Suzhou)",
                         {"half_width_m": p.wusong_half_width_m,
                          "river_precision_m": float(wusong["precision_m"].iloc[0])}))

    yatai_axis, axis_note, members = _yatai_axis(gaz)
    nanhu = counties.loc[counties["adcode"] == NANHU].geometry.iloc[0]
    belt = _metric(yatai_axis).buffer(p.yatai_half_width_m).intersection(nanhu).difference(lakes_m)
    rows.append(_row("yatai_belt", "亚太路科创带", "Yatai Road innovation belt", belt,
                     sorted(set(members) | set(_members(gaz, belt))),
                     f"{axis_note}, buffered {p.yatai_half_width_m:.0f} m, within Nanhu District",
                     {"half_width_m": p.yatai_half_width_m, "core_members": members}))
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)
    gdf["area_km2"] = (gdf.geometry.area / 1e6).round(1)
    out = gdf.to_crs(WGS84)
    out["defaults"] = json.dumps(asdict(p), sort_keys=True)
    return out


def _yatai_axis(gaz: gpd.GeoDataFrame) -> tuple[shapely.Geometry, str, list[str]]:
    by_name = {}
    for name in YATAI_MEMBER_NAMES:
        hit = gaz[(gaz["name_zh"] == name) | gaz["aliases"].fillna("").str.split(";").apply(lambda a, n=name: n in a)]
        if not hit.empty:
            by_name[name] = hit.iloc[0]
    members = sorted(r["id"] for r in by_name.values())
    try:
        wp = water.read_waypoints()
        road = wp[wp["feature"] == "yatai_road"]
    except (FileNotFoundError, InputError):
        road = []
    if len(road) >= 2:
        axis = shapely.LineString(np.column_stack([road["lon"], road["lat"]]))
        return axis, f"亚太路 axis through {len(road)} published waypoints", members
    if len(by_name) < 2:
        raise InputError("cannot derive the Yatai Road axis: neither waypoints nor its 科创板块 are located")
    pts = sorted((r.geometry for r in by_name.values()), key=lambda g: -g.y)
    return shapely.LineString(pts), "axis through the located 科创板块 from north to south", members


def _row(sid, zh, en, geom, members, derivation, params) -> dict:
    return {"structure": sid, "name_zh": zh, "name_en": en, "members": ";".join(members),
            "derivation": derivation, "params": json.dumps(params, sort_keys=True, ensure_ascii=False),
            "geometry": geom}
