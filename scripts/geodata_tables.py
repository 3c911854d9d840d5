"""Regenerate the data-derived tables of geodata/README.md (between <!-- BEGIN x --> markers).

    python scripts/geodata_tables.py

The prose of the README is written by hand; the numbers in it come from the data so
they cannot drift from what is committed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kechuang_gis.layers import admin, gazetteer  # noqa: E402
from kechuang_gis.settings import GEODATA_DIR  # noqa: E402


def areas_table() -> str:
    official = pd.read_csv(GEODATA_DIR / "sources" / "official_areas.csv", dtype={"adcode": str})
    ours = admin.admin_city().set_index("adcode")["area_km2"]
    lines = ["| unit | adcode | ours (km²) | official (km²) | difference | official figure's source |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for _, r in official.iterrows():
        o = ours[r["adcode"]]
        src = str(r["source"]).split(" http")[0].split(" (")[0]
        lines.append(f"| {r['name']} | {r['adcode']} | {o:,.1f} | {r['official_area_km2']:,.2f} | "
                     f"{(o / r['official_area_km2'] - 1) * 100:+.1f} % | {src} |")
    return "\n".join(lines)


def gazetteer_table() -> str:
    g = gazetteer.load_gazetteer()
    t = pd.crosstab(g["kind"], g["verified"]).reindex(columns=["yes", "approx", "no"], fill_value=0)
    t["unlocated"] = g[g["status"] == "unlocated"].groupby("kind").size().reindex(t.index, fill_value=0)
    t["median precision (m)"] = g.groupby("kind")["precision_m"].median().round(0)
    lines = ["| kind | verified | approx | not verified | of which unlocated | median precision (m) |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for kind, r in t.iterrows():
        mp = "" if pd.isna(r["median precision (m)"]) else f"{r['median precision (m)']:,.0f}"
        lines.append(f"| {kind} | {r['yes']} | {r['approx']} | {r['no']} | {r['unlocated']} | {mp} |")
    lines.append(f"| **all** | {t['yes'].sum()} | {t['approx'].sum()} | {t['no'].sum()} | "
                 f"{t['unlocated'].sum()} | |")
    unl = g[g["status"] == "unlocated"]
    lines += ["", "Unlocated places (kept as records, no coordinate):", ""]
    for _, r in unl.iterrows():
        note = re.sub(r"\s+", " ", str(r["note"]))[:220]
        lines.append(f"- **{r['name_zh']}** (`{r['id']}`): {note}")
    return "\n".join(lines)


def stations_table() -> str:
    st = pd.read_csv(GEODATA_DIR / "network" / "stations.csv", dtype=str)
    rn = pd.read_csv(GEODATA_DIR / "network" / "road_nodes.csv", dtype=str)
    out = ["| table | rows | verified | approx | not verified |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, df in (("stations.csv", st), ("road_nodes.csv", rn)):
        v = df["verified"].str.lower().value_counts()
        out.append(f"| {name} | {len(df)} | {v.get('yes', 0)} | {v.get('approx', 0)} | {v.get('no', 0)} |")
    return "\n".join(out)


def replace(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- BEGIN {name} -->\n)(?:.*?\n)?(<!-- END {name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"marker {name} missing in geodata/README.md")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


if __name__ == "__main__":
    path = GEODATA_DIR / "README.md"
    text = path.read_text(encoding="utf-8")
    for name, fn in (("areas", areas_table), ("gazetteer", gazetteer_table), ("network", stations_table)):
        text = replace(text, name, fn())
    path.write_text(text, encoding="utf-8")
    print(f"updated {path}")
