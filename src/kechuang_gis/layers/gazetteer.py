"""The gazetteer: every place the seeds name, and the transport hubs the analysis needs.

Built from the authored source table ``geodata/sources/gazetteer.csv`` (coordinates in
their published datum, with source, precision and verification status per row) into the
committed layer ``geodata/gazetteer.geojson`` (WGS84). The county ``adcode`` is decided
by the admin polygons, so every located point lies in the county its adcode names.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..crs import convert_xy, normalise_datum
from ..errors import DataWarning, InputError
from ..settings import GEODATA_DIR, WGS84
from . import admin, seeds
from .files import committed_layer

COLUMNS = ("id", "name_zh", "name_en", "aliases", "kind", "clusters", "adcode", "city_adcode",
           "county_name", "status", "precision_m", "verified", "source", "part_of", "seed_refs",
           "note", "in_study_area")
KINDS = ("park", "science_city", "campus", "institute", "lab", "platform", "hub", "town",
         "district_zone", "lake_area", "corridor_node")
STATUSES = ("existing", "under_construction", "planned", "unlocated")
#: Kinds that are innovation places (destinations called "parks" in the analysis).
PARK_KINDS = ("park", "science_city", "campus", "institute", "lab", "platform", "district_zone")


def build_from_sources(path: Path | None = None) -> gpd.GeoDataFrame:
    """Read the source table, convert datums, place each point in its county polygon."""
    path = path or GEODATA_DIR / "sources" / "gazetteer.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    required = {"id", "name_zh", "kind", "status", "lon", "lat", "datum", "precision_m", "verified", "source"}
    missing = required - set(df.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {sorted(missing)}")
    dup = df["id"][df["id"].duplicated()].tolist()
    if dup:
        raise InputError(f"{path}: duplicate ids {dup}")
    bad_kind = sorted(set(df["kind"]) - set(KINDS))
    if bad_kind:
        raise InputError(f"{path}: unknown kind(s) {bad_kind}; use {KINDS}")
    bad_status = sorted(set(df["status"]) - set(STATUSES))
    if bad_status:
        raise InputError(f"{path}: unknown status {bad_status}; use {STATUSES}")

    df = _hubs_from_station_table(df)
    located = (df["lon"] != "") & (df["lat"] != "") & (df["status"] != "unlocated")
    lon = pd.to_numeric(df["lon"].where(located), errors="coerce").to_numpy(dtype=float, copy=True)
    lat = pd.to_numeric(df["lat"].where(located), errors="coerce").to_numpy(dtype=float, copy=True)
    if np.isnan(lon[located.to_numpy()]).any():
        raise InputError(f"{path}: non-numeric lon/lat for {df.loc[located & np.isnan(lon), 'id'].tolist()}")
    for datum in df.loc[located, "datum"].str.lower().unique():
        sel = (located & (df["datum"].str.lower() == datum)).to_numpy()
        try:
            normalise_datum(datum)
        except InputError as exc:
            raise InputError(f"{path}: {exc} (rows {', '.join(df.loc[sel, 'id'])})") from None
        lon[sel], lat[sel] = convert_xy(lon[sel], lat[sel], datum, "wgs84")
    geoms = [shapely.Point(x, y) if ok else None for x, y, ok in zip(lon, lat, located, strict=True)]
    gdf = gpd.GeoDataFrame(df.drop(columns=["lon", "lat", "datum"]), geometry=geoms, crs=WGS84)
    gdf["precision_m"] = pd.to_numeric(gdf["precision_m"], errors="coerce")

    # The county is what the polygons say; a disagreeing declaration is reported.
    declared = gdf.pop("county_adcode") if "county_adcode" in gdf.columns else pd.Series("", index=gdf.index)
    found = np.full(len(gdf), None, dtype=object)
    found[located.to_numpy()] = admin.county_of(gdf.loc[located].geometry)
    gdf["in_study_area"] = pd.Series(found).notna().to_numpy()
    gdf["adcode"] = np.where(gdf["in_study_area"], found, declared.replace("", None))
    differ = located & gdf["in_study_area"] & (declared != "") & (declared != gdf["adcode"])
    if differ.any():
        pairs = [f"{i} (declared {d}, polygon {a})" for i, d, a in
                 zip(gdf.loc[differ, "id"], declared[differ], gdf.loc[differ, "adcode"], strict=True)]
        warnings.warn(f"{int(differ.sum())} gazetteer point(s) lie in another county than declared; "
                      f"polygon county used: {', '.join(pairs)}", DataWarning, stacklevel=2)
    gdf["city_adcode"] = [admin.unit_of_county(a) if inside else None
                          for a, inside in zip(gdf["adcode"], gdf["in_study_area"], strict=True)]

    # seed_refs: union of the table's and the digest's links, so both stay consistent.
    linked = seeds.mentions()
    gdf["seed_refs"] = [
        ";".join(sorted(set(filter(None, str(r).split(";"))) | set(linked.get(i, []))))
        for i, r in zip(gdf["id"], gdf["seed_refs"], strict=True)
    ]
    for col in COLUMNS:
        if col not in gdf.columns:
            gdf[col] = None
    return gdf[list(COLUMNS) + ["geometry"]].sort_values("id").reset_index(drop=True)


#: Fields a hub row takes from the station table of the embedded network.
_STATION_FIELDS = ("lon", "lat", "datum", "precision_m", "verified", "source")


def _hubs_from_station_table(df: pd.DataFrame, path: Path | None = None) -> pd.DataFrame:
    """Rail hubs take their position from geodata/network/stations.csv (matched by name).

    One table holds each station's coordinate and its source, so the gazetteer and the
    network can never place the same station in two places.
    """
    path = path or GEODATA_DIR / "network" / "stations.csv"
    if not path.exists():
        return df
    st = pd.read_csv(path, dtype=str, keep_default_na=False).drop_duplicates("name_zh").set_index("name_zh")
    df = df.copy()
    hubs = df.index[(df["kind"] == "hub") & df["name_zh"].isin(st.index)]
    for i in hubs:
        row = st.loc[df.at[i, "name_zh"]]
        for col in _STATION_FIELDS:
            df.at[i, col] = row[col]
        df.at[i, "note"] = f"position from geodata/network/stations.csv ({row.name}). " + str(df.at[i, "note"] or "")
    return df


def select_places(kinds: tuple[str, ...] | None = None, statuses: tuple[str, ...] | None = None,
                  study_area_only: bool = False, drop_parts: bool = True) -> gpd.GeoDataFrame:
    """Located places for analysis (nodes, destinations).

    ``drop_parts``: a place that is ``part_of`` another selected place (e.g. a 5G pilot
    zone designating a whole park) is the same spot under another name; counting both
    would double the park's weight, so the part is dropped when its parent is selected.
    """
    gdf = load_gazetteer(located_only=True, kinds=kinds, statuses=statuses)
    if study_area_only:
        gdf = gdf[gdf["in_study_area"].astype(bool)]
    return without_parts(gdf) if drop_parts else gdf.reset_index(drop=True)


def without_parts(places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop the places that are ``part_of`` another place of the same selection."""
    if "part_of" not in places.columns:
        return places.reset_index(drop=True)
    parent = places["part_of"].fillna("").astype(str)
    parts = (parent != "") & parent.isin(set(places["id"].astype(str)))
    return places[~parts].reset_index(drop=True)


def load_gazetteer(located_only: bool = False, kinds: tuple[str, ...] | None = None,
                   statuses: tuple[str, ...] | None = None) -> gpd.GeoDataFrame:
    """The gazetteer layer (WGS84). Unlocated places have no geometry unless filtered out."""
    gdf = committed_layer("gazetteer")
    if located_only:
        gdf = gdf[gdf.geometry.notna() & (gdf["status"] != "unlocated")]
    if kinds is not None:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise InputError(f"unknown kind(s) {sorted(unknown)}; use {', '.join(KINDS)}")
        gdf = gdf[gdf["kind"].isin(kinds)]
    if statuses is not None:
        gdf = gdf[gdf["status"].isin(statuses)]
    return gdf.reset_index(drop=True)
