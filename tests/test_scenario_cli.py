"""`kechuang-gis scenario run|compare` end to end on the embedded network (county origins: fast)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd

from kechuang_gis.analysis.scenario import SCENARIO_DIR
from kechuang_gis.cli import main

TSJY = str(SCENARIO_DIR / "tongsujiayong.toml")
HSJ = str(SCENARIO_DIR / "husujia_intercity.toml")


def test_run_two_files_in_parallel_then_compare(tmp_path, capsys):
    out = tmp_path / "scn"
    code = main(["scenario", "run", TSJY, HSJ, "--out", str(out), "--origins", "counties",
                 "--metrics", "nearest,gravity", "--workers", "2", "--no-node-strength"])
    assert code == 0, capsys.readouterr().err
    for stem in ("tongsujiayong", "husujia_intercity"):
        d = gpd.read_parquet(out / stem / "delta.parquet")
        assert {"nearest_time_min_base", "nearest_time_min_scenario", "nearest_time_min_delta",
                "gravity_base", "gravity_scenario", "gravity_delta"} <= set(d.columns)
        np.testing.assert_allclose(d["nearest_time_min_delta"],
                                   d["nearest_time_min_scenario"] - d["nearest_time_min_base"])
        assert d.crs.to_epsg() == 4326
        meta = json.loads((out / stem / "meta.json").read_text(encoding="utf-8"))
        assert meta["scenario"]["sources"]
        assert not (out / stem / "node_strength_delta.csv").exists()
    # Both files share the embedded base: it is measured once, so both bases agree exactly.
    a = gpd.read_parquet(out / "tongsujiayong" / "delta.parquet")
    b = gpd.read_parquet(out / "husujia_intercity" / "delta.parquet")
    pd.testing.assert_series_equal(a["gravity_base"], b["gravity_base"])

    md = tmp_path / "cmp.md"
    code = main(["scenario", "compare", str(out / "tongsujiayong"), str(out / "husujia_intercity"),
                 "--out", str(md)])
    assert code == 0
    text = md.read_text(encoding="utf-8")
    assert "通苏嘉甬" in text and "沪苏嘉" in text
    pq = tmp_path / "cmp.parquet"
    assert main(["scenario", "compare", str(out / "tongsujiayong"), str(out / "husujia_intercity"),
                 "--out", str(pq)]) == 0
    c = gpd.read_parquet(pq)
    np.testing.assert_allclose(c["gravity_diff"], b["gravity_delta"] - a["gravity_delta"])


def test_bad_file_stops_before_any_output(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[set_status]]\nline = "沪苏嘉城际"\nstatus = "operating"\n', encoding="utf-8")
    out = tmp_path / "scn"
    code = main(["scenario", "run", TSJY, str(bad), "--out", str(out), "--origins", "counties",
                 "--no-node-strength"])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad.toml" in err and "close matches" in err and "水乡旅游线" in err
    assert not out.exists()


def test_compare_refuses_a_folder_that_is_not_a_scenario(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    code = main(["scenario", "compare", str(tmp_path / "a"), str(tmp_path / "a")])
    assert code == 2
    assert "not a finished scenario folder" in capsys.readouterr().err


def test_od_metric_is_refused(tmp_path, capsys):
    code = main(["scenario", "run", TSJY, "--out", str(tmp_path / "o"), "--metrics", "od"])
    assert code == 2
    assert "no per-origin value" in capsys.readouterr().err
