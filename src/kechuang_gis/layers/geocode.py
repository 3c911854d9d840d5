"""Geocoding: offline first, against the gazetteer and the administrative units.

Order of attempts for each row (the first that succeeds wins; ``match_type`` says which):

1. ``coordinates``: the row has lon/lat (in a declared datum, converted at the edge);
2. ``exact`` / ``alias``: the name equals a gazetteer name or alias;
3. ``fuzzy``: the closest gazetteer name above a similarity cutoff (difflib ratio);
4. ``address_place``: the address contains a gazetteer name or alias (longest wins);
5. ``address_county`` / ``address_city``: the address names a county or city of the
   region (e.g. 嘉兴市南湖区亚太路778号 -> 南湖区); the point is the unit's representative
   point and ``precision_m`` the radius of a circle of the unit's area: "somewhere in it";
6. ``nominatim`` / ``amap``: online providers, only when enabled explicitly; answers are
   cached on disk and AMap's GCJ-02 answers converted to WGS84.

Rows that match nothing are an error naming the closest known names, unless the caller
keeps them (``match_type = 'unmatched'``, counted warning).
"""

from __future__ import annotations

import difflib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..crs import convert_xy, normalise_datum
from ..errors import DataWarning, InputError, OfflineError
from ..io import existing_input, fix_swapped_lonlat, warn_outside_region, write_json
from ..settings import CACHE_DIR, HTTP_TIMEOUT_S, METRIC_CRS, WGS84
from . import admin, gazetteer

PROVIDERS = ("nominatim", "amap")
#: Administrative suffixes dropped to match short forms (苏州 for 苏州市, 南湖 for 南湖区).
_ADMIN_SUFFIXES = ("市", "区", "县")


def closest_matches(name: str, candidates, n: int = 5, cutoff: float = 0.3) -> list[str]:
    """The ``n`` candidates most similar to ``name`` (for error messages and fuzzy matching)."""
    return difflib.get_close_matches(str(name), list(dict.fromkeys(candidates)), n=n, cutoff=cutoff)


class Geocoder:
    """Offline matcher over the gazetteer and admin units, with optional online providers."""

    def __init__(self, fuzzy_cutoff: float = 0.8, online: str | None = None,
                 cache_dir: Path | None = None):
        if online is not None and online not in PROVIDERS:
            raise InputError(f"unknown online provider {online!r}; use one of {', '.join(PROVIDERS)}")
        self.fuzzy_cutoff = fuzzy_cutoff
        self.online = online
        self.cache_dir = Path(cache_dir or CACHE_DIR / "geocode")
        gaz = gazetteer.load_gazetteer(located_only=True)
        self.gaz = gaz.set_index("id", drop=False)
        self.names: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        for gid, zh, en, al in zip(gaz["id"], gaz["name_zh"], gaz["name_en"], gaz["aliases"], strict=True):
            self.names[str(zh)] = gid
            if isinstance(en, str) and en:
                self.names.setdefault(en.lower(), gid)
            for a in str(al or "").split(";"):
                a = a.strip()
                if a:
                    self.aliases.setdefault(a, gid)
                    self.aliases.setdefault(a.lower(), gid)
        self.units = self._admin_units()

    @staticmethod
    def _admin_units() -> pd.DataFrame:
        rows = []
        for gdf, level in ((admin.admin_county(), "county"), (admin.admin_city(), "city")):
            m = gdf.to_crs(METRIC_CRS)
            radius = np.sqrt(m.geometry.area / np.pi)
            pts = gdf.geometry.representative_point()
            for code, name, r, pt in zip(gdf["adcode"], gdf["name"], radius, pts, strict=True):
                rows.append({"adcode": code, "name": name, "level": level,
                             "radius_m": float(round(r, -2)), "geometry": pt})
        return pd.DataFrame(rows)

    # -- single names ---------------------------------------------------------------
    def match_name(self, name: str) -> dict | None:
        name = str(name).strip()
        if not name:
            return None
        key = name if name in self.names else name.lower()
        if key in self.names:
            return self._hit(self.names[key], "exact", 1.0)
        if key in self.aliases:
            return self._hit(self.aliases[key], "alias", 1.0)
        best = difflib.get_close_matches(name, list(self.names) + list(self.aliases), n=1, cutoff=self.fuzzy_cutoff)
        if best:
            gid = self.names.get(best[0]) or self.aliases[best[0]]
            score = difflib.SequenceMatcher(None, name, best[0]).ratio()
            return self._hit(gid, "fuzzy", round(score, 3))
        return None

    def match_address(self, address: str) -> dict | None:
        """The finest place an address names: a gazetteer place, else its county, else its city.

        Every gazetteer name/alias and admin unit found in the text is a candidate; the
        one with the smallest ``precision_m`` wins (longer names break ties), so
        嘉兴市南湖区… lands in 南湖区, not in 嘉兴市.
        """
        address = str(address).strip()
        if not address:
            return None
        candidates = []
        # Gazetteer rows that merely repeat an admin unit (a city's centre point) would
        # outrank the county an address names; admin units answer those names.
        unit_names = set(self.units["name"])
        for key, gid in {**self.names, **self.aliases}.items():
            if key in unit_names:
                continue
            if len(key) >= 2 and key in address:
                hit = self._hit(gid, "address_place", 1.0)
                candidates.append((_precision_key(hit), -len(key), hit))
        for _, u in self.units.iterrows():
            short = u["name"].rstrip("".join(_ADMIN_SUFFIXES)) if len(u["name"]) > 2 else u["name"]
            if u["name"] in address or (len(short) >= 2 and short in address):
                hit = {"matched_id": u["adcode"], "matched_name": u["name"],
                       "match_type": f"address_{u['level']}", "score": 1.0,
                       "precision_m": u["radius_m"], "geometry": u["geometry"]}
                candidates.append((_precision_key(hit), -len(u["name"]), hit))
        if not candidates:
            return None
        return min(candidates, key=lambda c: (c[0], c[1]))[2]

    def _hit(self, gid: str, how: str, score: float) -> dict:
        row = self.gaz.loc[gid]
        return {"matched_id": gid, "matched_name": row["name_zh"], "match_type": how, "score": score,
                "precision_m": float(row["precision_m"]) if pd.notna(row["precision_m"]) else np.nan,
                "geometry": row.geometry.representative_point()}

    # -- online -----------------------------------------------------------------------
    def match_online(self, query: str) -> dict | None:
        if self.online is None:
            return None
        cache = self.cache_dir / f"{self.online}.json"
        store = json.loads(cache.read_text(encoding="utf-8")) if cache.exists() else {}
        if query not in store:
            store[query] = self._fetch(query)
            cache.parent.mkdir(parents=True, exist_ok=True)
            write_json(store, cache)
        ans = store[query]
        if not ans:
            return None
        lon, lat = ans["lon"], ans["lat"]
        if self.online == "amap":
            x, y = convert_xy([lon], [lat], "gcj02", "wgs84")
            lon, lat = float(x[0]), float(y[0])
        return {"matched_id": None, "matched_name": ans.get("name"), "match_type": self.online,
                "score": np.nan, "precision_m": ans.get("precision_m", np.nan),
                "geometry": shapely.Point(lon, lat)}

    def _fetch(self, query: str) -> dict | None:
        if self.online == "nominatim":
            url = "https://nominatim.openstreetmap.org/search?" + urllib.parse.urlencode(
                {"q": query, "format": "jsonv2", "limit": 1, "countrycodes": "cn"})
            data = _http_json(url)
            if not data:
                return None
            return {"lon": float(data[0]["lon"]), "lat": float(data[0]["lat"]),
                    "name": data[0].get("display_name"), "precision_m": np.nan}
        key = os.environ.get("AMAP_KEY")
        if not key:
            raise InputError("AMap geocoding needs a web-service key in the environment variable AMAP_KEY")
        url = "https://restapi.amap.com/v3/geocode/geo?" + urllib.parse.urlencode({"address": query, "key": key})
        data = _http_json(url)
        codes = data.get("geocodes") or []
        if not codes:
            return None
        lon, lat = (float(v) for v in codes[0]["location"].split(","))
        return {"lon": lon, "lat": lat, "name": codes[0].get("formatted_address"), "precision_m": np.nan}


def _precision_key(hit: dict) -> float:
    p = hit.get("precision_m")
    return float(p) if p is not None and np.isfinite(p) else np.inf


def _http_json(url: str):
    req = urllib.request.Request(url, headers={"User-Agent": "kechuang-gis (planning research)"})
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
            return json.loads(resp.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise OfflineError(
            f"online geocoding failed ({exc}); this machine may be offline. Geocode offline "
            "(the default: gazetteer and county matching) or give lon/lat columns") from exc


def geocode_table(df: pd.DataFrame, *, name_col: str | None = "name", address_col: str | None = None,
                  lon_col: str = "lon", lat_col: str = "lat", datum: str = "wgs84",
                  online: str | None = None, fuzzy_cutoff: float = 0.8,
                  keep_unmatched: bool = False, source: str = "input") -> gpd.GeoDataFrame:
    """Geocode every row; returns the input columns + match_type, matched_id, precision_m, geometry."""
    if df.empty:
        raise InputError(f"{source}: no rows to geocode")
    has_xy = lon_col in df.columns and lat_col in df.columns
    if not has_xy and (name_col not in df.columns if name_col else True) and \
            (address_col not in df.columns if address_col else True):
        raise InputError(f"{source}: need a name column ({name_col!r}), an address column or "
                         f"{lon_col}/{lat_col}; columns are {', '.join(map(str, df.columns))}")
    if address_col and address_col not in df.columns:
        raise InputError(f"{source}: missing address column {address_col!r}")
    datum = normalise_datum(datum)
    if has_xy:
        df = df.copy()
        ok = df[lon_col].notna() & df[lat_col].notna()
        lon, lat = fix_swapped_lonlat(df.loc[ok, lon_col].to_numpy(float), df.loc[ok, lat_col].to_numpy(float),
                                      Path(source))
        df.loc[ok, lon_col], df.loc[ok, lat_col] = lon, lat
    coder = Geocoder(fuzzy_cutoff=fuzzy_cutoff, online=online)
    results = []
    for _, row in df.iterrows():
        hit = None
        if has_xy and pd.notna(row[lon_col]) and pd.notna(row[lat_col]):
            x, y = convert_xy([float(row[lon_col])], [float(row[lat_col])], datum, "wgs84")
            hit = {"matched_id": None, "matched_name": None, "match_type": "coordinates", "score": np.nan,
                   "precision_m": np.nan, "geometry": shapely.Point(float(x[0]), float(y[0]))}
        if hit is None and name_col and name_col in df.columns and pd.notna(row[name_col]):
            hit = coder.match_name(row[name_col])
        if hit is None and address_col and pd.notna(row[address_col]):
            hit = coder.match_address(row[address_col])
        if hit is None and online:
            query = " ".join(str(row[c]) for c in (name_col, address_col) if c and c in df.columns and pd.notna(row[c]))
            hit = coder.match_online(query)
        results.append(hit or {"matched_id": None, "matched_name": None, "match_type": "unmatched",
                               "score": np.nan, "precision_m": np.nan, "geometry": None})
    res = pd.DataFrame(results, index=df.index)
    unmatched = res["match_type"] == "unmatched"
    if unmatched.any():
        known = list(coder.names) + list(coder.aliases) + coder.units["name"].tolist()
        labels = []
        for idx in df.index[unmatched]:
            text = str(df.loc[idx, name_col]) if name_col and name_col in df.columns else str(df.loc[idx, address_col])
            near = closest_matches(text, known, n=3)
            labels.append(f"{text!r} (row {idx + 2}; closest: {', '.join(near) or 'none'})")
        msg = f"{source}: {int(unmatched.sum())} row(s) matched nothing: " + "; ".join(labels[:10])
        if not keep_unmatched:
            raise InputError(msg)
        warnings.warn(msg, DataWarning, stacklevel=2)
    out = pd.concat([df, res.drop(columns=["geometry"])], axis=1)
    gdf = gpd.GeoDataFrame(out, geometry=res["geometry"].tolist(), crs=WGS84)
    located = gdf[gdf.geometry.notna()]
    if len(located):
        warn_outside_region(located, source, name_col if name_col in gdf.columns else "matched_id")
    return gdf


def geocode_file(path: str | Path, **kwargs) -> gpd.GeoDataFrame:
    """Read a CSV and geocode it (see :func:`geocode_table`)."""
    path = existing_input(path)
    try:
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path}: the file is empty") from exc
    for c in (kwargs.get("lon_col", "lon"), kwargs.get("lat_col", "lat")):
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    return geocode_table(df, source=str(path), **kwargs)
