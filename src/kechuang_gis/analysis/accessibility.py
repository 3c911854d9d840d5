"""Accessibility measures on a network: nearest, cumulative, gravity, 2SFCA, OD, isochrones.

One public function, :func:`accessibility`, returns an :class:`AccessibilityResult` of
GeoDataFrames; ``result.write(out_dir)`` writes them (and GeoTIFF surfaces) atomically.

Conventions, all in one place:

* Travel is from each origin *to* each destination (reverse search on one-way networks),
  access legs included (the network's access model, see :mod:`.routing`).
* Times are minutes. An origin that cannot reach a destination has no time: NaN in
  ``nearest_time_min`` and ``od.time_min``, and it simply adds nothing to the sums of
  ``cum_T``, ``gravity`` and ``2sfca`` (0 is the true count of reachable destinations).
  Origins that are not on the network at all (unsnapped) are NaN in every column.
  Every case is counted in ``result.counts`` and warned about.
* ``nearest`` is one multi-source search whatever the number of destinations; the other
  measures use the many-to-many kernel (:mod:`.kernels`), batched over destinations
  with bounded memory, locally or on a Dask cluster (:mod:`.distributed`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError, warn_count
from ..io import atomic_dir, write_csv, write_geoparquet, write_json
from ..network.model import Network
from . import kernels
from .isochrones import DEFAULT_MINUTES, parse_minutes
from .isochrones import isochrones as build_isochrones
from .origins import load_destinations, load_origins, study_land, warn_outside
from .routing import nearest
from .snap import (
    REGION_WATER,
    Snap,
    check_access,
    snap,
    snap_like,
    unsnapped_reasons,
    warn_unsnapped,
)

METRICS = ("nearest", "cumulative", "gravity", "2sfca", "od", "isochrones")
DECAYS = ("exp", "power", "gaussian")
#: Default decay parameters. exp: f = exp(-beta t), beta per minute (0.05: half weight
#: at ~14 min). power: f = max(t, 1)^-beta. gaussian: f = exp(-(beta t)^2 / 2), beta per
#: minute (1/30: one standard deviation at 30 min).
DEFAULT_BETA = {"exp": 0.05, "power": 1.5, "gaussian": 1.0 / 30.0}
#: Power decay is undefined at t = 0; times below this (minutes) count as this.
POWER_T_MIN = 1.0
DEFAULT_CUMULATIVE = (30.0, 45.0, 60.0)
DEFAULT_CATCHMENT_MIN = 30.0
#: Product files of a run: removed from an existing output folder before writing, so a
#: folder never mixes products of two runs.
PRODUCTS = ("origins.parquet", "od.parquet", "isochrones.parquet", "destinations.parquet",
            "summary_by_county.csv", "run.json")


# --- parameters ----------------------------------------------------------------------

def parse_metrics(spec: str | Sequence[str]) -> dict[str, tuple[float, ...] | None]:
    """``"nearest,cumulative:30,45,60,gravity"`` -> {'nearest': None, 'cumulative': (30, 45, 60), ...}."""
    if isinstance(spec, str):
        # A comma starts a new metric unless what follows is a number ("cumulative:30,45").
        items: list[str] = []
        for tok in (t.strip() for t in spec.split(",")):
            if items and re.fullmatch(r"[0-9.]+", tok) and ":" in items[-1]:
                items[-1] += "," + tok
            else:
                items.append(tok)
    else:
        items = [str(s).strip() for s in spec]
    out: dict[str, tuple[float, ...] | None] = {}
    for item in filter(None, items):
        name, _, arg = item.partition(":")
        name = name.strip().lower()
        if name not in METRICS:
            raise InputError(f"unknown metric {name!r}; use any of {', '.join(METRICS)}")
        if name == "cumulative":
            out[name] = parse_minutes(arg) if arg else DEFAULT_CUMULATIVE
        elif arg:
            raise InputError(f"metric {name!r} takes no argument (got {item!r})")
        else:
            out[name] = None
    if not out:
        raise InputError("no metrics given; use any of " + ", ".join(METRICS))
    return out


def decay(t_min: np.ndarray, kind: str = "exp", beta: float | None = None) -> np.ndarray:
    """Distance-decay weight f(t) for times in minutes; 0 where ``t`` is NaN or inf."""
    if kind not in DECAYS:
        raise InputError(f"unknown decay {kind!r}; use {', '.join(DECAYS)}")
    b = DEFAULT_BETA[kind] if beta is None else float(beta)
    if not (math.isfinite(b) and b > 0):
        raise InputError(f"beta must be a positive number, got {beta!r}")
    t = np.asarray(t_min, dtype=float)
    ok = np.isfinite(t)
    tt = np.where(ok, t, 0.0)
    if kind == "exp":
        f = np.exp(-b * tt)
    elif kind == "power":
        f = np.maximum(tt, POWER_T_MIN) ** -b
    else:
        f = np.exp(-0.5 * (b * tt) ** 2)
    return np.where(ok, f, 0.0)


def two_step_fca(t_min: np.ndarray, supply: np.ndarray, demand: np.ndarray,
                 catchment_min: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-step floating catchment: (A per origin, R per destination).

    Step 1: ``R_j = S_j / sum(P_i : t_ij <= d0)``; step 2: ``A_i = sum(R_j : t_ij <= d0)``.
    A destination whose catchment holds no demand has no ratio (NaN) and adds nothing.
    """
    within = np.isfinite(t_min) & (t_min <= catchment_min)
    dem = np.nan_to_num(np.asarray(demand, float), nan=0.0)
    demand_j = dem @ within
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(demand_j > 0, np.asarray(supply, float) / demand_j, np.nan)
    return within @ np.nan_to_num(ratio, nan=0.0), ratio


# --- result --------------------------------------------------------------------------

@dataclass
class AccessibilityResult:
    """GeoDataFrames of one run, and the counts of everything that went unreached."""

    origins: gpd.GeoDataFrame
    destinations: gpd.GeoDataFrame
    od: pd.DataFrame | None
    isochrones: gpd.GeoDataFrame | None
    summary_by_county: pd.DataFrame
    counts: dict
    params: dict
    metric_columns: list[str] = field(default_factory=list)

    def write(self, out_dir: str | Path) -> Path:
        """Write every product into ``out_dir`` atomically (all or nothing)."""
        from .raster import rasterize_cells, write_geotiff

        out_dir = Path(out_dir)
        with atomic_dir(out_dir) as tmp:
            for name in PRODUCTS:
                (tmp / name).unlink(missing_ok=True)
            for old in tmp.glob("*.tif"):
                old.unlink()
            write_geoparquet(self.origins, tmp / "origins.parquet")
            write_geoparquet(self.destinations, tmp / "destinations.parquet")
            if self.od is not None:
                path = tmp / "od.parquet"
                self.od.to_parquet(path, index=False)
            if self.isochrones is not None:
                write_geoparquet(self.isochrones, tmp / "isochrones.parquet")
            write_csv(self.summary_by_county, tmp / "summary_by_county.csv")
            surfaces = []
            size = self.origins.attrs.get("cell_size_m")
            if size and not (self.origins.geometry.geom_type == "Point").all():
                for col in self.metric_columns:
                    arr, transform = rasterize_cells(self.origins, self.origins[col].to_numpy(float), size)
                    write_geotiff(tmp / f"{col}.tif", arr, transform, description=col)
                    surfaces.append(f"{col}.tif")
            write_json({"params": self.params, "counts": self.counts, "surfaces": surfaces},
                       tmp / "run.json")
        return out_dir


# --- the run -------------------------------------------------------------------------

def accessibility(
    network: Network | str | Path,
    origins: str | gpd.GeoDataFrame,
    destinations: str | gpd.GeoDataFrame,
    metrics: str | Sequence[str],
    *,
    mass_col: str | None = None,
    decay: str = "exp",  # noqa: F811 - the parameter shadows the function on purpose
    beta: float | None = None,
    catchment_min: float = DEFAULT_CATCHMENT_MIN,
    population: str | Path | None = None,
    limit_min: float | None = None,
    isochrone_minutes: Sequence[float] | str = DEFAULT_MINUTES,
    modes: Sequence[str] | None = None,
    statuses: Sequence[str] | None = ("operating",),
    datum: str = "wgs84",
    workers: int | None = None,
    scheduler: str | None = None,
    area=None,
    lakes=None,
    batch: int | None = None,
    progress: bool | Callable[[int], None] = False,
    snap_base: Network | None = None,
) -> AccessibilityResult:
    """Compute the requested accessibility measures from origins to destinations.

    ``network``: a :class:`Network` or its folder. ``origins``: ``hex:RES``,
    ``grid:METERS``, ``counties``, ``gazetteer``, a point file or a GeoDataFrame.
    ``destinations``: ``parks``, ``hubs``, ``gazetteer``, a file (id, lon, lat[, mass])
    or a GeoDataFrame. ``metrics``: see :func:`parse_metrics`. ``limit_min``: travel
    beyond it counts as unreachable. ``workers``/``scheduler``: run the many-to-many
    part on a local Dask cluster of that many processes / an existing scheduler.
    ``area``/``lakes`` replace the study area and lakes (cells, clipping, warnings).
    ``snap_base``: the base network of a scenario; points then join this network through
    the nodes they join on the base, plus the nodes this network adds (see
    :func:`routing.snap_like`), so base and scenario differ only by the network change.
    """
    wanted = parse_metrics(metrics)
    decay_kind, decay_beta = _check_decay(decay, beta)
    limit_s = None if limit_min is None else kernels.check_limit(float(limit_min) * 60.0)
    if "2sfca" in wanted and not (catchment_min is not None and float(catchment_min) > 0):
        raise InputError(f"catchment must be a positive number of minutes, got {catchment_min!r}")
    iso_minutes = parse_minutes(isochrone_minutes) if "isochrones" in wanted else ()

    net = network if isinstance(network, Network) else Network.load(network)
    access = _check_access(net.meta.get("access", {}))
    graph = net.csr(modes=modes, statuses=statuses)

    orig = load_origins(origins, datum=datum, area=area, lakes=lakes)
    dest = load_destinations(destinations, datum=datum, mass_col=mass_col)
    warn_outside(dest, "destination(s)", area)

    base_graph = None if snap_base is None else snap_base.csr(modes=modes, statuses=statuses)
    water = REGION_WATER if lakes is None else lakes
    o_snap = _snap(graph, orig, access, base_graph, water)
    d_snap = _snap(graph, dest, access, base_graph, water)
    counts = {"origins": len(orig), "destinations": len(dest)}
    counts["unsnapped_destinations"] = int((~d_snap.snapped).sum())
    counts["unsnapped_destinations_by_reason"] = unsnapped_reasons(d_snap)
    if counts["unsnapped_destinations"]:
        bad = dest.loc[~d_snap.snapped, "id"].tolist()
        if len(bad) == len(dest):
            raise InputError(f"no destination is within {access['max_snap_m']:g} m of the network "
                             f"(e.g. {', '.join(map(str, bad[:5]))}): outside the network's area?")
        warn_unsnapped(d_snap, dest["id"], "destination(s)", access, "dropped")
        keep = d_snap.snapped
        dest = dest[keep].reset_index(drop=True)
        d_snap = d_snap.subset(keep)
    counts["unsnapped_origins"] = int((~o_snap.snapped).sum())
    counts["unsnapped_origins_by_reason"] = unsnapped_reasons(o_snap)
    warn_unsnapped(o_snap, orig["id"], "origin(s)", access, "all measures NaN")

    pop = None
    if population is not None:
        from .raster import population_at

        pop = population_at(orig, population)

    out = orig.copy()
    out["snap_dist_m"] = np.where(o_snap.snapped, o_snap.leg_m, np.nan)
    out["snap_status"] = o_snap.status.astype(str)
    cols: list[str] = []
    on_net = o_snap.snapped
    if "nearest" in wanted:
        t, who = nearest(graph, o_snap, d_snap, access, limit_s=limit_s, water=water)
        t_min = np.where(np.isfinite(t), t / 60.0, np.nan)
        out["nearest_time_min"] = t_min
        out["nearest_id"] = np.where(who >= 0, dest["id"].to_numpy(object)[np.maximum(who, 0)], None)
        cols.append("nearest_time_min")
        counts["unreachable_origins"] = int((np.isnan(t_min) & on_net).sum())
        warn_count("origin(s) on the network reach no destination (nearest_time_min NaN)",
                   counts["unreachable_origins"], out.loc[np.isnan(t_min) & on_net, "id"].tolist())

    od_df = None
    iso = None
    many = set(wanted) - {"nearest"}
    if many:
        search_s = _search_limit(wanted, limit_s, catchment_min, iso_minutes)
        problem = kernels.prepare(graph, o_snap, d_snap, access, reverse=True, limit_s=search_s,
                                  iso_max_s=max(iso_minutes) * 60.0 if iso_minutes else None,
                                  water=water)
        od_s, reach = _solve(problem, workers, scheduler, batch, progress)
        if limit_s is not None:
            od_s[od_s > limit_s] = np.inf
        t_min = np.where(np.isfinite(od_s), od_s / 60.0, np.nan)
        mass = dest["mass"].to_numpy(float)
        if "cumulative" in wanted:
            for T in wanted["cumulative"]:
                name = f"cum_{T:g}"
                reached = np.isfinite(t_min) & (t_min <= T)
                out[name] = np.where(on_net, reached @ mass, np.nan)
                cols.append(name)
        if "gravity" in wanted:
            out["gravity"] = np.where(on_net, decay_fn(t_min, decay_kind, decay_beta) @ mass, np.nan)
            cols.append("gravity")
        if "2sfca" in wanted:
            demand = np.ones(len(orig)) if pop is None else np.nan_to_num(pop, nan=0.0)
            demand = np.where(on_net, demand, 0.0)
            a, ratio = two_step_fca(t_min, mass, demand, float(catchment_min))
            out["2sfca"] = np.where(on_net, a, np.nan)
            cols.append("2sfca")
            dest = dest.assign(supply_demand_ratio=ratio)
            counts["destinations_without_demand"] = int(np.isnan(ratio).sum())
            warn_count("destination(s) with no demand within the catchment (no 2SFCA ratio)",
                       counts["destinations_without_demand"], dest.loc[np.isnan(ratio), "id"].tolist())
        if "od" in wanted:
            od_df = pd.DataFrame({
                "origin_id": np.repeat(out["id"].to_numpy(object), len(dest)),
                "dest_id": np.tile(dest["id"].to_numpy(object), len(out)),
                "time_min": t_min.ravel(),
            })
            counts["od_unreachable_pairs"] = int(np.isnan(t_min).sum())
        if "isochrones" in wanted:
            land = study_land(area, lakes)
            iso = build_isochrones(graph, dest, d_snap.x, d_snap.y, reach, iso_minutes, access, land)

    if pop is not None:
        out["population"] = pop
    summary = summarise_by_county(out, cols, pop)
    params = {
        "metrics": {k: (list(v) if v else None) for k, v in wanted.items()},
        "decay": decay_kind, "beta": decay_beta, "catchment_min": float(catchment_min),
        "limit_min": limit_min, "isochrone_minutes": list(iso_minutes), "modes": list(modes) if modes else None,
        "statuses": list(statuses) if statuses else None, "mass_col": mass_col,
        "population": str(population) if population else None, "access": access,
        "origins": origins if isinstance(origins, str) else "GeoDataFrame",
        "destinations": destinations if isinstance(destinations, str) else "GeoDataFrame",
        "network": str(network) if not isinstance(network, Network) else net.meta.get("name", "Network"),
        "direction": "origin to destination",
    }
    dest_out = dest.copy()
    dest_out["snap_dist_m"] = d_snap.leg_m
    return AccessibilityResult(out, dest_out, od_df, iso, summary, counts, params, cols)


decay_fn = decay  # the keyword argument of accessibility() shadows the name inside it


def _check_decay(kind: str, beta: float | None) -> tuple[str, float]:
    if kind not in DECAYS:
        raise InputError(f"unknown decay {kind!r}; use {', '.join(DECAYS)}")
    b = DEFAULT_BETA[kind] if beta is None else beta
    decay_fn(np.zeros(1), kind, b)  # validates beta
    return kind, float(b)


def _check_access(access: dict) -> dict:
    return check_access(access)


def _snap(graph, points: gpd.GeoDataFrame, access: dict, base_graph=None, water=REGION_WATER) -> Snap:
    lon, lat = points["lon"].to_numpy(float), points["lat"].to_numpy(float)
    if base_graph is not None:
        return snap_like(graph, base_graph, lon, lat, access, water=water)
    return snap(graph, lon, lat, access, water=water)


def _search_limit(wanted: dict, limit_s: float | None, catchment_min: float,
                  iso_minutes: tuple[float, ...]) -> float | None:
    """The search can stop early when every requested measure has a time threshold."""
    if {"gravity", "od"} & set(wanted):
        return limit_s
    bounds = []
    if "cumulative" in wanted:
        bounds.append(max(wanted["cumulative"]) * 60.0)
    if "2sfca" in wanted:
        bounds.append(float(catchment_min) * 60.0)
    if iso_minutes:
        bounds.append(max(iso_minutes) * 60.0)
    bound = max(bounds) if bounds else None
    if limit_s is None:
        return bound
    return limit_s if bound is None else min(limit_s, bound)


def _solve(problem: kernels.Problem, workers, scheduler, batch, progress):
    bar = None
    callback = progress if callable(progress) else None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=problem.m_dest, unit="dest", desc="travel-time fields", leave=False)
        callback = bar.update
    try:
        if workers or scheduler:
            from .distributed import run_distributed

            return run_distributed(problem, workers=workers, scheduler=scheduler, batch=batch,
                                   progress=callback)
        return kernels.run(problem, batch=batch, progress=callback)
    finally:
        if bar is not None:
            bar.close()


def summarise_by_county(origins: gpd.GeoDataFrame, columns: list[str],
                        population: np.ndarray | None = None) -> pd.DataFrame:
    """Per county and metric: origins, unreachable (NaN) count, mean, median, pop-weighted mean."""
    from ..layers.admin import admin_county, county_of

    pts = gpd.GeoSeries(gpd.points_from_xy(origins["lon"], origins["lat"]), crs="EPSG:4326")
    codes = county_of(pts)
    counties = admin_county().set_index("adcode")
    codes = np.where(pd.isna(codes), "outside", codes).astype(object)
    rows = []
    pop = None if population is None else np.nan_to_num(np.asarray(population, float), nan=0.0)
    for code in sorted(set(codes)):
        sel = codes == code
        name = counties["name"].get(code, "study area outside counties") if code != "outside" else "outside study area"
        city = counties["city_name"].get(code) if code != "outside" and "city_name" in counties else None
        for col in columns:
            v = origins[col].to_numpy(float)[sel]
            ok = np.isfinite(v)
            row = {"county_adcode": code, "county_name": name, "city_name": city, "metric": col,
                   "origins": int(sel.sum()), "unreachable": int((~ok).sum()),
                   "mean": float(v[ok].mean()) if ok.any() else np.nan,
                   "median": float(np.median(v[ok])) if ok.any() else np.nan}
            if pop is not None:
                w = pop[sel][ok]
                row["population"] = float(pop[sel].sum())
                row["pop_weighted_mean"] = float((v[ok] * w).sum() / w.sum()) if w.sum() > 0 else np.nan
            rows.append(row)
    cols = ["county_adcode", "county_name", "city_name", "metric", "origins", "unreachable", "mean", "median"]
    if pop is not None:
        cols += ["population", "pop_weighted_mean"]
    return pd.DataFrame(rows, columns=cols)


__all__ = ["accessibility", "AccessibilityResult", "parse_metrics", "decay", "two_step_fca",
           "summarise_by_county", "METRICS", "DECAYS", "DEFAULT_BETA"]
