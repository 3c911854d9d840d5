"""The one network model: nodes and directed edges as GeoDataFrames, plus its CSR form.

Conventions (every builder and every consumer relies on them):

* ``edges`` rows are **directed**: a row is traversable from ``u`` to ``v`` only. A
  two-way street or a rail line is stored as two rows (as in an osmnx MultiDiGraph);
  ``oneway`` records what the source said. Reverse routing is the transpose.
* Node ids are int64 (OSM ids for OSM sources; assigned for embedded data).
* Geometry is WGS84 (EPSG:4326); ``length_m`` is metric (EPSG:4549 or geodesic, see
  ``meta['length_method']``); ``travel_time_s`` is what routing uses and must be > 0.
* ``meta`` holds provenance and the access model (how off-network points join).

On disk: ``DIR/nodes.parquet``, ``DIR/edges.parquet`` (GeoParquet) and ``DIR/meta.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from .. import __version__
from ..crs import metric_crs_for, project_xy
from ..errors import InputError, NetworkError
from ..io import atomic_dir, write_json
from ..settings import (
    ACCESS_DETOUR_FACTOR,
    ACCESS_SPEED_KMH,
    DIRECT_WALK_MAX_M,
    ENTRY_NODE_KINDS,
    MAX_SNAP_M_OSM,
    MIDEDGE_MODES,
    NO_MIDEDGE_CLASSES,
    WALK_SPEED_KMH,
    WGS84,
)

MODES = ("road", "rail", "access", "transfer")
STATUSES = ("operating", "under_construction", "planned")
EDGE_COLUMNS = (
    "u", "v", "key", "mode", "class", "name", "ref", "line", "oneway", "length_m",
    "speed_kmh", "travel_time_s", "status", "source",
)
NODE_COLUMNS = ("id", "kind", "name")
#: Node kinds of railway stations (the hub where roads and points join rail).
STATION_KINDS = ("station", "interchange_station")


def default_access_model(max_snap_m: float = MAX_SNAP_M_OSM) -> dict:
    """How points off the network join it; stored in ``meta['access']``.

    See :mod:`kechuang_gis.analysis.snap` for the model and ``settings`` for each value.
    Keys of older networks (``k_nearest``, ``station_penalty_s``) are ignored: boarding
    is an edge of the network, and points join one place of it.
    """
    return {
        "model": "nearest joinable edge or entry node; split edge; straight access leg",
        "detour_factor": ACCESS_DETOUR_FACTOR,
        "speed_kmh": ACCESS_SPEED_KMH,
        "max_snap_m": float(max_snap_m),
        "walk_max_m": DIRECT_WALK_MAX_M,
        "walk_speed_kmh": WALK_SPEED_KMH,
        "no_midedge_classes": list(NO_MIDEDGE_CLASSES),
        "entry_node_kinds": list(ENTRY_NODE_KINDS),
    }


@dataclass(frozen=True)
class JoinableEdges:
    """The edges a point may join mid-way, one row per street (a two-way street once).

    ``u``/``v`` are node positions in the CSR graph, oriented like ``geometry`` (WGS84
    LineStrings); ``forward_s`` is the travel time from ``u`` to ``v`` and ``backward_s``
    from ``v`` to ``u`` (``inf`` where the street is one-way). ``crs`` is the metric CRS in
    which the geometry is measured (:attr:`lines`).
    """

    u: np.ndarray
    v: np.ndarray
    forward_s: np.ndarray
    backward_s: np.ndarray
    length_m: np.ndarray
    geometry: np.ndarray
    crs: str

    @property
    def n(self) -> int:
        return int(len(self.u))

    def keys(self, node_ids: np.ndarray) -> pd.MultiIndex:
        """(u id, v id, length to 0.1 m) of each street: its identity across networks."""
        return pd.MultiIndex.from_arrays([node_ids[self.u], node_ids[self.v], self.length_m])

    @cached_property
    def lines(self) -> np.ndarray:
        """The edges' LineStrings in metres of :attr:`crs` (projected on first use)."""
        from pyproj import Transformer

        tr = Transformer.from_crs(WGS84, self.crs, always_xy=True)
        return shapely.transform(self.geometry, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))

    @cached_property
    def tree(self) -> shapely.STRtree:
        """Spatial index over :attr:`lines` (built on first use)."""
        return shapely.STRtree(self.lines)


def joinable_edges(edges: pd.DataFrame, u: np.ndarray, v: np.ndarray, crs: str) -> JoinableEdges:
    """Group directed edge rows into streets a point may join mid-way.

    A row is joinable when its mode is in ``settings.MIDEDGE_MODES`` and its class is not
    in ``settings.NO_MIDEDGE_CLASSES``. The two rows of a two-way street (same end nodes,
    opposite directions, same length to 0.1 m) become one street with both travel
    times; parallel streets between the same nodes with other lengths stay apart.
    """
    mode = edges["mode"].to_numpy(object)
    cls_ = edges["class"].astype(object).where(edges["class"].notna(), "").to_numpy(object)
    ok = np.isin(mode, MIDEDGE_MODES) & ~np.isin(cls_, NO_MIDEDGE_CLASSES) & (u != v)
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return JoinableEdges(empty, empty, np.empty(0), np.empty(0), np.empty(0), np.empty(0, dtype=object),
                             crs)
    uu, vv = u[rows], v[rows]
    a, b = np.minimum(uu, vv), np.maximum(uu, vv)
    df = pd.DataFrame({"a": a, "b": b, "len": np.round(edges["length_m"].to_numpy(float)[rows], 1),
                       "fwd": uu == a, "tt": edges["travel_time_s"].to_numpy(float)[rows], "row": rows})
    df = df.sort_values(["a", "b", "len", "fwd", "tt"], ascending=[True, True, True, False, True],
                        kind="stable")
    key = ["a", "b", "len"]
    first = df.groupby(key, sort=False).head(1)  # a forward row when the street has one
    fwd = df[df["fwd"]].groupby(key, sort=False)["tt"].min()
    bwd = df[~df["fwd"]].groupby(key, sort=False)["tt"].min()
    idx = pd.MultiIndex.from_frame(first[key])
    forward_s = fwd.reindex(idx).to_numpy(float)
    backward_s = bwd.reindex(idx).to_numpy(float)
    geoms = edges.geometry.to_numpy()[first["row"].to_numpy()]
    # Geometry runs a -> b: a street that has only its b -> a row is drawn reversed.
    flip = ~first["fwd"].to_numpy()
    if flip.any():
        geoms = geoms.copy()
        geoms[flip] = shapely.reverse(geoms[flip])
    return JoinableEdges(first["a"].to_numpy(np.int64), first["b"].to_numpy(np.int64),
                         np.nan_to_num(forward_s, nan=np.inf), np.nan_to_num(backward_s, nan=np.inf),
                         first["len"].to_numpy(float), geoms, crs)


@dataclass(frozen=True)
class CSRGraph:
    """Compact routing form: a square CSR matrix of travel times (seconds) over node positions.

    ``matrix[i, j]`` is the fastest direct edge from node ``node_ids[i]`` to ``node_ids[j]``
    (parallel edges are reduced to their minimum). ``x``/``y`` are metres in ``crs`` (the
    metric CRS of :func:`~kechuang_gis.crs.metric_crs_for`: EPSG:4549 in the region).
    ``active`` marks nodes that carry at least one selected edge; ``entry`` the active
    nodes a point may join directly (stations, interchanges); ``joinable`` the edges a
    point may join mid-way (see :mod:`kechuang_gis.analysis.snap`).
    """

    matrix: sp.csr_array
    node_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    active: np.ndarray
    crs: str = "EPSG:4549"
    entry: np.ndarray | None = None
    joinable: JoinableEdges | None = None

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0])

    def project(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 lon/lat to this graph's metric x/y."""
        return project_xy(lon, lat, self.crs)

    def index_of(self, ids: Iterable[int]) -> np.ndarray:
        """Positions of node ids; raises InputError naming unknown ids."""
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        order = np.argsort(self.node_ids, kind="stable")
        pos = np.searchsorted(self.node_ids, ids, sorter=order)
        pos = np.clip(pos, 0, len(order) - 1)
        found = self.node_ids[order[pos]] == ids
        if not found.all():
            raise InputError(f"unknown node id(s): {ids[~found][:10].tolist()}")
        return order[pos]

    def reversed(self) -> CSRGraph:
        """The transpose: travel times *to* a node become times *from* it."""
        return replace(self, matrix=self.matrix.T.tocsr())


class Network:
    """Nodes and directed edges of a transport network, with provenance in ``meta``."""

    def __init__(self, nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, meta: dict | None = None):
        self.nodes = _normalise_nodes(nodes)
        self.edges = _normalise_edges(edges)
        self.meta = dict(meta or {})
        self.meta.setdefault("access", default_access_model())
        self.validate()

    # -- checks ------------------------------------------------------------------
    def validate(self) -> None:
        """Raise NetworkError with the offending ids when the model's invariants fail."""
        ids = self.nodes["id"]
        if ids.duplicated().any():
            raise NetworkError(f"duplicate node ids: {ids[ids.duplicated()].head(10).tolist()}")
        ends = np.concatenate([self.edges["u"].to_numpy(np.int64), self.edges["v"].to_numpy(np.int64)])
        missing = np.unique(ends[~np.isin(ends, ids.to_numpy(np.int64))])
        if missing.size:
            raise NetworkError(f"edges refer to unknown node ids: {missing[:10].tolist()}")
        bad_mode = ~self.edges["mode"].isin(MODES)
        if bad_mode.any():
            raise NetworkError(f"unknown edge mode(s) {sorted(set(self.edges.loc[bad_mode, 'mode']))}; use {MODES}")
        bad_status = ~self.edges["status"].isin(STATUSES)
        if bad_status.any():
            raise NetworkError(f"unknown status {sorted(set(self.edges.loc[bad_status, 'status']))}; use {STATUSES}")
        tt = self.edges["travel_time_s"].to_numpy(float)
        bad = ~np.isfinite(tt) | (tt <= 0)
        if bad.any():
            rows = self.edges.loc[bad, ["u", "v"]].head(5).to_dict("records")
            raise NetworkError(f"{int(bad.sum())} edge(s) with non-positive or missing travel_time_s, e.g. {rows}")
        sp_ = self.edges["speed_kmh"].to_numpy(float)
        if (sp_ <= 0).any():
            raise NetworkError(f"{int((sp_ <= 0).sum())} edge(s) with non-positive speed_kmh")

    # -- persistence -------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write nodes.parquet, edges.parquet and meta.json atomically (all or nothing)."""
        meta = dict(self.meta)
        meta["software_version"] = __version__
        meta["counts"] = self.counts()
        with atomic_dir(directory) as tmp:
            self.nodes.to_parquet(tmp / "nodes.parquet", index=False)
            self.edges.to_parquet(tmp / "edges.parquet", index=False)
            write_json(meta, tmp / "meta.json")
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path) -> Network:
        directory = Path(directory)
        needed = [directory / n for n in ("nodes.parquet", "edges.parquet", "meta.json")]
        absent = [p.name for p in needed if not p.exists()]
        if absent:
            raise InputError(f"{directory}: not a network folder (missing {', '.join(absent)}); "
                             "build one with `kechuang-gis network build`")
        nodes = gpd.read_parquet(directory / "nodes.parquet")
        edges = gpd.read_parquet(directory / "edges.parquet")
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        return cls(nodes, edges, meta)

    # -- views -------------------------------------------------------------------
    def counts(self) -> dict:
        e = self.edges
        return {
            "nodes": int(len(self.nodes)),
            "edges": int(len(e)),
            "by_mode": {k: int(v) for k, v in e["mode"].value_counts().sort_index().items()},
            "by_status": {k: int(v) for k, v in e["status"].value_counts().sort_index().items()},
        }

    def select(self, modes: Iterable[str] | None = None,
               statuses: Iterable[str] | None = ("operating",)) -> Network:
        """A network with only the edges of the given modes and statuses (all nodes kept).

        Access and transfer edges are kept whenever any mode is kept: they are the glue
        between modes, not a mode a user chooses.
        """
        e = self.edges
        mask = np.ones(len(e), dtype=bool)
        if modes is not None:
            modes = set(modes)
            unknown = modes - set(MODES)
            if unknown:
                raise InputError(f"unknown mode(s) {sorted(unknown)}; use road, rail")
            mask &= e["mode"].isin(modes | {"access", "transfer"}).to_numpy()
            if not (e["mode"].isin(modes).to_numpy() & mask).any():
                raise NetworkError(f"the network has no {'/'.join(sorted(modes))} edges")
        if statuses is not None:
            mask &= e["status"].isin(list(statuses)).to_numpy()
        return Network(self.nodes, e[mask].reset_index(drop=True), self.meta)

    def metric_crs(self) -> str:
        """The metric CRS for this network's extent (:func:`~kechuang_gis.crs.metric_crs_for`)."""
        g = self.nodes.geometry
        return metric_crs_for(g.x.to_numpy(), g.y.to_numpy())

    def node_xy_metric(self, crs: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        g = self.nodes.geometry
        return project_xy(g.x.to_numpy(), g.y.to_numpy(), crs or self.metric_crs())

    def csr(self, modes: Iterable[str] | None = None,
            statuses: Iterable[str] | None = ("operating",),
            weight: str = "travel_time_s") -> CSRGraph:
        """The routing form over all nodes, with the selected edges only."""
        net = self.select(modes, statuses) if (modes is not None or statuses is not None) else self
        ids = net.nodes["id"].to_numpy(np.int64)
        pos = pd.Series(np.arange(len(ids)), index=ids)
        u = pos.loc[net.edges["u"].to_numpy()].to_numpy()
        v = pos.loc[net.edges["v"].to_numpy()].to_numpy()
        w = net.edges[weight].to_numpy(float)
        matrix = csr_min(u, v, w, len(ids))
        # The CRS is chosen from the whole network, so every selection of it (and every
        # scenario built on it) measures in the same metres.
        crs = self.metric_crs()
        x, y = net.node_xy_metric(crs)
        active = np.zeros(len(ids), dtype=bool)
        routable = ~net.edges["mode"].isin(("access", "transfer")).to_numpy()
        active[u[routable]] = True
        active[v[routable]] = True
        kinds = net.nodes["kind"].astype(str).to_numpy()
        entry = active & np.isin(kinds, ENTRY_NODE_KINDS)
        joinable = joinable_edges(net.edges, u, v, crs)
        return CSRGraph(matrix, ids, np.asarray(x), np.asarray(y), active, crs, entry, joinable)

    # -- networkx ----------------------------------------------------------------
    def to_networkx(self) -> nx.MultiDiGraph:
        """An osmnx-compatible MultiDiGraph (x/y in lon/lat, crs, length, travel_time, speed_kph)."""
        G = nx.MultiDiGraph(crs=WGS84, **{k: v for k, v in self.meta.items() if isinstance(v, str | int | float)})
        nodes = self.nodes
        attrs = nodes.drop(columns=["geometry"]).to_dict("records")
        for rec, geom in zip(attrs, nodes.geometry, strict=True):
            rec["x"], rec["y"] = float(geom.x), float(geom.y)
            G.add_node(int(rec["id"]), **{k: _py(v) for k, v in rec.items()})
        for rec, geom in zip(self.edges.drop(columns=["geometry"]).to_dict("records"),
                             self.edges.geometry, strict=True):
            data = {k: _py(v) for k, v in rec.items() if k not in ("u", "v", "key")}
            data["length"] = data["length_m"]
            data["travel_time"] = data["travel_time_s"]
            data["speed_kph"] = data["speed_kmh"]
            if data["mode"] == "road":
                data["highway"] = data["class"]
            data["geometry"] = geom
            G.add_edge(int(rec["u"]), int(rec["v"]), key=int(rec["key"]), **data)
        return G

    @classmethod
    def from_networkx(cls, G: nx.MultiDiGraph, meta: dict | None = None, **defaults) -> Network:
        """Build from a MultiDiGraph made by us or by osmnx (lon/lat x/y, length in metres).

        osmnx attribute names (``length``, ``travel_time``, ``speed_kph``, ``highway``)
        are accepted for ours; list-valued OSM tags keep their first value. ``defaults``
        fill columns the graph lacks (e.g. ``mode='road'``, ``source='osm'``).
        """
        if G.graph.get("crs") not in (None, WGS84, "epsg:4326", "EPSG:4326"):
            raise InputError(f"graph CRS is {G.graph.get('crs')}; project it to EPSG:4326 first (ox.project_graph(G, to_latlong=True))")
        node_rows = []
        for n, d in G.nodes(data=True):
            node_rows.append({"id": int(n), "kind": d.get("kind", defaults.get("node_kind", "junction")),
                              "name": _first(d.get("name")), "x": float(d["x"]), "y": float(d["y"])})
        nodes = pd.DataFrame(node_rows)
        nodes = gpd.GeoDataFrame(nodes.drop(columns=["x", "y"]),
                                 geometry=gpd.points_from_xy(nodes["x"], nodes["y"]), crs=WGS84)
        xy = {int(n): (float(d["x"]), float(d["y"])) for n, d in G.nodes(data=True)}
        rows, geoms = [], []
        for u, v, k, d in G.edges(keys=True, data=True):
            cls_ = _first(d.get("class", d.get("highway", defaults.get("class"))))
            length = d.get("length_m", d.get("length"))
            speed = d.get("speed_kmh", d.get("speed_kph"))
            tt = d.get("travel_time_s", d.get("travel_time"))
            rows.append({
                "u": int(u), "v": int(v), "key": int(k),
                "mode": d.get("mode", defaults.get("mode", "road")),
                "class": cls_, "name": _first(d.get("name")), "ref": _first(d.get("ref")),
                "line": _first(d.get("line")), "oneway": bool(d.get("oneway", False)),
                "length_m": float(length) if length is not None else np.nan,
                "speed_kmh": float(speed) if speed is not None else np.nan,
                "travel_time_s": float(tt) if tt is not None else np.nan,
                "status": d.get("status", defaults.get("status", "operating")),
                "source": d.get("source", defaults.get("source", "networkx")),
            })
            g = d.get("geometry")
            geoms.append(g if g is not None else shapely.LineString([xy[int(u)], xy[int(v)]]))
        edges = gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(EDGE_COLUMNS)), geometry=geoms, crs=WGS84)
        return cls(nodes, edges, meta)


def csr_min(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sp.csr_array:
    """CSR matrix with the minimum weight of parallel (u, v) entries.

    scipy sums duplicate entries when it builds a sparse matrix; for travel times the
    fastest parallel edge is the one that counts, so duplicates are reduced first.
    """
    if len(u):
        order = np.lexsort((w, v, u))
        u, v, w = u[order], v[order], w[order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, w = u[first], v[first], w[first]
    return sp.csr_array((w, (u, v)), shape=(n, n))


def _first(v):
    if isinstance(v, list | tuple):
        return v[0] if v else None
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


def _py(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def _normalise_nodes(nodes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(nodes, gpd.GeoDataFrame) or nodes.crs is None:
        raise InputError("nodes must be a GeoDataFrame with a CRS")
    nodes = nodes.to_crs(WGS84).reset_index(drop=True)
    for col in NODE_COLUMNS:
        if col not in nodes.columns:
            if col == "id":
                raise InputError("nodes need an 'id' column")
            nodes[col] = None if col == "name" else "junction"
    nodes["id"] = nodes["id"].astype(np.int64)
    front = [c for c in NODE_COLUMNS] + [c for c in nodes.columns if c not in NODE_COLUMNS]
    return nodes[front]


def _normalise_edges(edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(edges, gpd.GeoDataFrame) or edges.crs is None:
        raise InputError("edges must be a GeoDataFrame with a CRS")
    edges = edges.to_crs(WGS84).reset_index(drop=True)
    for col in ("u", "v", "mode", "length_m", "travel_time_s"):
        if col not in edges.columns:
            raise InputError(f"edges need a {col!r} column")
    defaults = {"key": 0, "class": None, "name": None, "ref": None, "line": None, "oneway": False,
                "status": "operating", "source": None}
    for col, val in defaults.items():
        if col not in edges.columns:
            edges[col] = val
    if "speed_kmh" not in edges.columns:
        edges["speed_kmh"] = edges["length_m"] / edges["travel_time_s"] * 3.6
    for col in ("u", "v", "key"):
        edges[col] = edges[col].astype(np.int64)
    edges["oneway"] = edges["oneway"].astype(bool)
    for col in ("length_m", "speed_kmh", "travel_time_s"):
        edges[col] = edges[col].astype(float)
    front = list(EDGE_COLUMNS) + [c for c in edges.columns if c not in EDGE_COLUMNS]
    return edges[front]
