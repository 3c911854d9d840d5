"""Geocoding: offline matching levels, datums, addresses and clear failures."""

from __future__ import annotations

import pandas as pd
import pytest

from kechuang_gis import crs
from kechuang_gis.cli import main
from kechuang_gis.errors import DataWarning, InputError, OfflineError
from kechuang_gis.layers import admin, gazetteer
from kechuang_gis.layers.geocode import geocode_table


@pytest.fixture(scope="module")
def gaz():
    return gazetteer.load_gazetteer(located_only=True).set_index("id")


def test_exact_alias_and_fuzzy(gaz):
    df = pd.DataFrame({"name": ["苏州工业园区", "独墅湖科创区", "苏州工业园"]})
    g = geocode_table(df)
    assert list(g["match_type"]) == ["exact", "alias", "fuzzy"]
    assert g.loc[0, "matched_id"] == g.loc[2, "matched_id"]
    assert g.geometry.iloc[1].equals(gaz.loc[g.loc[1, "matched_id"]].geometry)
    assert g.loc[0, "precision_m"] == gaz.loc[g.loc[0, "matched_id"], "precision_m"]


def test_address_falls_back_to_county_with_honest_precision():
    df = pd.DataFrame({"name": [None], "address": ["浙江省湖州市吴兴区青铜路123号"]})
    g = geocode_table(df, address_col="address")
    assert g.loc[0, "match_type"] == "address_county" and g.loc[0, "matched_id"] == "330502"
    county = admin.admin_county().set_index("adcode").loc["330502"].geometry
    assert county.contains(g.geometry.iloc[0])
    # Radius of a circle with 吴兴区's area (~862 km2) is ~16.6 km.
    assert g.loc[0, "precision_m"] == pytest.approx(16_600, rel=0.02)


def test_yatai_road_address_lands_in_nanhu():
    g = geocode_table(pd.DataFrame({"name": [None], "address": ["嘉兴市南湖区亚太路778号"]}), address_col="address")
    nanhu = admin.admin_county().set_index("adcode").loc["330402"].geometry
    assert nanhu.contains(g.geometry.iloc[0])
    assert g.loc[0, "match_type"].startswith("address_")


def test_coordinates_with_declared_datum():
    df = pd.DataFrame({"name": ["x"], "lon": [120.62], "lat": [31.30]})
    g = geocode_table(df, datum="bd09")
    ex, ey = crs.bd09_to_wgs84([120.62], [31.30])
    assert g.loc[0, "match_type"] == "coordinates"
    assert g.geometry.iloc[0].x == pytest.approx(ex[0], abs=1e-12)
    assert g.geometry.iloc[0].y == pytest.approx(ey[0], abs=1e-12)


def test_unknown_name_lists_closest_matches():
    with pytest.raises(InputError, match=r"苏州工业园区.*closest: .*苏州工业园区"):
        geocode_table(pd.DataFrame({"name": ["苏州工业园区区区X"]}), fuzzy_cutoff=0.95)
    with pytest.warns(DataWarning, match="matched nothing"):
        g = geocode_table(pd.DataFrame({"name": ["完全不存在的地方"]}), keep_unmatched=True)
    assert g.loc[0, "match_type"] == "unmatched" and g.geometry.iloc[0] is None


def test_online_provider_only_when_asked_and_fails_clearly_offline(tmp_path):
    df = pd.DataFrame({"name": ["完全不存在的地方"]})
    with pytest.raises(InputError):  # offline by default: never goes online
        geocode_table(df)
    try:
        geocode_table(df, online="nominatim")
    except OfflineError as exc:
        assert "offline" in str(exc)
    except InputError:
        pass  # a network that answers "no result" is also acceptable


def test_cli_geocode_writes_gpkg_atomically(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("name\n苏州北站\n湘家荡科创湖区\n", encoding="utf-8")
    out = tmp_path / "out.gpkg"
    assert main(["geocode", str(src), "--out", str(out)]) == 0
    import geopandas as gpd
    g = gpd.read_file(out)
    assert len(g) == 2 and set(g["match_type"]) <= {"exact", "alias"}
    bad = tmp_path / "bad.csv"
    bad.write_text("name\n不存在的园区XYZ\n", encoding="utf-8")
    out2 = tmp_path / "out2.gpkg"
    assert main(["geocode", str(bad), "--out", str(out2)]) == 2
    assert not out2.exists()
