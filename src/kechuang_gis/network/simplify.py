"""Topology simplification: contract degree-2 nodes, drop small components.

A *piece* is a run of OSM segments with one set of attributes (its ``group``: mode,
class, name, ref, one-way, speed, ...), an ordered coordinate sequence, a length and a
travel time. Simplification works in two linear-time steps:

1. :func:`pieces_from_ways` cuts OSM ways at every node that is not a plain pass-through
   (a junction, an end, a station): fully vectorised over the concatenated way nodes.
2. :func:`merge_pieces` joins pieces end to end at nodes where exactly two piece ends
   meet with the same group (and, for one-way pieces, one arriving and one leaving).
   Only the pieces that take part in a join are walked in Python.

A node where modes, classes, names, speeds or one-way status change is never removed,
so nothing is merged across modes or attributes; lengths and travel times of merged
pieces are summed and the full geometry is kept. :func:`simplify_network` applies the
same steps to any :class:`~kechuang_gis.network.model.Network` (e.g. one converted from
an unsimplified osmnx graph).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from ..settings import WGS84

log = logging.getLogger(__name__)

#: Default minimum size (in raw OSM nodes) of a connected component worth keeping per
#: mode: smaller islands (a car park aisle clipped from its street, a fragment cut by
#: the area boundary) cannot be reached and only add snapping targets.
MIN_COMPONENT_NODES = 10
#: Edge geometries are created this many at a time (bounds transient memory).
GEOMETRY_CHUNK = 250_000


@dataclass
class Pieces:
    """Runs of segments with uniform attributes (see module docstring).

    ``start``/``end`` are node ids, ``ptr`` offsets into ``lon``/``lat`` (piece ``i``
    owns coordinates ``ptr[i]:ptr[i+1]``, first = start node, last = end node).
    """

    start: np.ndarray
    end: np.ndarray
    group: np.ndarray
    oneway: np.ndarray
    ptr: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    length_m: np.ndarray
    time_s: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for each pair, without a Python loop."""
    starts = np.asarray(starts, np.int64)
    lengths = np.asarray(lengths, np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    offsets = np.cumsum(lengths) - lengths
    out = np.ones(total, np.int64)
    out[0] = starts[0]
    out[offsets[1:]] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    return np.cumsum(out)


@lru_cache(maxsize=1)
def _libc_trim():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


def release_memory() -> None:
    """Hand freed heap pages back to the OS (glibc ``malloc_trim``).

    Large builds interleave short-lived numpy temporaries with millions of small GEOS
    allocations; glibc then keeps the freed pages and the resident size grows far past
    what is live. Trimming between phases keeps the peak close to the live data.
    """
    trim = _libc_trim()
    if trim is not None:
        trim(0)


def unique(x: np.ndarray, return_inverse: bool = False):
    """Sorted unique values (and inverse), sort-based: numpy's hash-based unique is
    several times slower on millions of int64 ids."""
    x = np.asarray(x)
    if not return_inverse:
        srt = np.sort(x)
        keep = np.ones(len(srt), bool)
        keep[1:] = srt[1:] != srt[:-1]
        return srt[keep]
    order = np.argsort(x, kind="stable")
    srt = x[order]
    keep = np.ones(len(srt), bool)
    keep[1:] = srt[1:] != srt[:-1]
    inv = np.empty(len(x), np.int64)
    inv[order] = np.cumsum(keep) - 1
    return srt[keep], inv


def small_components(a: np.ndarray, b: np.ndarray, mode: np.ndarray, min_nodes: int
                     ) -> tuple[np.ndarray, int, int]:
    """Mask of segments in weakly connected components of at least ``min_nodes`` nodes.

    Components are taken per mode (a rail spur touching a road at a level crossing
    does not rescue it). ``a``/``b`` are dense node indices. Returns the mask, the number
    of components dropped and the number of nodes in them.
    """
    keep = np.ones(len(a), dtype=bool)
    if min_nodes <= 1 or len(a) == 0:
        return keep, 0, 0
    n_comp_dropped = n_nodes_dropped = 0
    for m in np.unique(mode):
        sel = np.flatnonzero(mode == m)
        nodes, inv = unique(np.concatenate([a[sel], b[sel]]), return_inverse=True)
        k = len(sel)
        g = coo_array((np.ones(k, np.int8), (inv[:k], inv[k:])), shape=(len(nodes), len(nodes)))
        _, labels = connected_components(g, directed=False)
        sizes = np.bincount(labels)
        small = sizes < min_nodes
        n_comp_dropped += int(small.sum())
        n_nodes_dropped += int(sizes[small].sum())
        keep[sel] = ~small[labels[inv[:k]]]
    return keep, n_comp_dropped, n_nodes_dropped


def pieces_from_ways(node: np.ndarray, seg_ok: np.ndarray, group_of_ref: np.ndarray,
                     oneway_of_ref: np.ndarray, lon: np.ndarray, lat: np.ndarray,
                     seg_length: np.ndarray, seg_time: np.ndarray, forced: np.ndarray,
                     n_nodes: int) -> tuple[Pieces, np.ndarray]:
    """Cut concatenated ways into pieces at every node that is not a pass-through.

    ``node[k]`` is the dense node index at way-node position ``k``; ``seg_ok[k]`` says the
    segment from position ``k`` to ``k + 1`` is kept (same way, both nodes present and
    inside the area, in a kept component). ``group_of_ref``/``oneway_of_ref`` give the
    way's attributes per position, ``seg_length``/``seg_time`` per segment,
    ``forced[n]`` marks nodes that must stay (stations). Returns the pieces (node fields
    are dense indices) and the degree of each node.
    """
    ks = np.flatnonzero(seg_ok)
    deg = np.bincount(node[ks], minlength=n_nodes) + np.bincount(node[ks + 1], minlength=n_nodes)
    brk = (deg != 2) | forced
    prev_ok = np.zeros(len(ks), dtype=bool)
    has_prev = ks > 0
    prev_ok[has_prev] = seg_ok[ks[has_prev] - 1]
    starts = ~prev_ok | brk[node[ks]]
    piece_of_seg = np.cumsum(starts) - 1
    first_seg = np.flatnonzero(starts)
    last_seg = np.append(first_seg[1:] - 1, len(ks) - 1)
    first_k = ks[first_seg]
    last_k = ks[last_seg]
    n_coords = last_k - first_k + 2
    ptr = np.concatenate([[0], np.cumsum(n_coords)])
    pos = ranges(first_k, n_coords)
    pieces = Pieces(
        start=node[first_k], end=node[last_k + 1],
        group=group_of_ref[first_k], oneway=oneway_of_ref[first_k], ptr=ptr,
        lon=lon[pos], lat=lat[pos],
        length_m=np.bincount(piece_of_seg, weights=seg_length[ks], minlength=len(first_k)),
        time_s=np.bincount(piece_of_seg, weights=seg_time[ks], minlength=len(first_k)),
    )
    return pieces, deg


def merge_pieces(p: Pieces, forced: np.ndarray | None = None) -> Pieces:
    """Join pieces end to end through nodes where exactly two compatible ends meet.

    ``forced`` is a boolean array over node ids (dense indices) that must stay. Returns
    new pieces (chains) with concatenated coordinates and summed lengths and times.
    """
    n = len(p)
    if n == 0:
        return p
    # Piece ends as "slots": 2*i is the start of piece i, 2*i+1 its end.
    slot_node = np.empty(2 * n, np.int64)
    slot_node[0::2], slot_node[1::2] = p.start, p.end
    order = np.argsort(slot_node, kind="stable")
    sn = slot_node[order]
    first = np.ones(len(sn), bool)
    first[1:] = sn[1:] != sn[:-1]
    grp_start = np.flatnonzero(first)
    counts = np.diff(np.append(grp_start, len(sn)))
    pairs = grp_start[counts == 2]
    s1, s2 = order[pairs], order[pairs + 1]
    q1, q2 = s1 // 2, s2 // 2
    ok = (q1 != q2) & (p.group[q1] == p.group[q2])
    if forced is not None:
        ok &= ~forced[slot_node[s1]]
    # One-way pieces join only arrival-to-departure (an end slot with a start slot).
    ow = p.oneway[q1]
    ok &= ~ow | ((s1 % 2) != (s2 % 2))
    join = np.full(2 * n, -1, np.int64)
    join[s1[ok]], join[s2[ok]] = s2[ok], s1[ok]
    involved = (join[0::2] >= 0) | (join[1::2] >= 0)
    if not involved.any():
        return p
    chains = _walk(join, np.flatnonzero(involved), p.oneway)
    return _assemble(p, chains, ~involved)


def _walk(join: np.ndarray, involved: np.ndarray, oneway: np.ndarray) -> list[list[int]]:
    """Chains of signed piece numbers (``~i`` = piece ``i`` reversed), in travel order."""
    join_l = join.tolist()
    visited = set()
    chains: list[list[int]] = []

    def follow(piece: int, entry_side: int) -> list[int]:
        chain = []
        while True:
            visited.add(piece)
            chain.append(piece if entry_side == 0 else ~piece)
            nxt = join_l[2 * piece + (1 - entry_side)]
            if nxt < 0:
                return chain
            piece, entry_side = nxt // 2, nxt % 2
            if piece in visited:  # closed ring: back at the first piece
                return chain

    inv = involved.tolist()
    # Open chains start at a free end. Start sides first: a one-way chain's only free
    # start slot is its first piece, so it is walked in its direction of travel.
    for side in (0, 1):
        for i in inv:
            if i not in visited and join_l[2 * i + side] < 0:
                chains.append(follow(i, side))
    # What is left are rings of removable nodes: cut each at its first piece's start.
    for i in inv:
        if i not in visited:
            chains.append(follow(i, 0))
    return chains


def _assemble(p: Pieces, chains: list[list[int]], alone: np.ndarray) -> Pieces:
    alone_idx = np.flatnonzero(alone)
    m = len(chains)
    members = np.fromiter((~s if s < 0 else s for c in chains for s in c), np.int64)
    flips = np.fromiter((s < 0 for c in chains for s in c), bool)
    chain_of = np.repeat(np.arange(m), [len(c) for c in chains])
    firsts = np.concatenate([[0], np.cumsum([len(c) for c in chains])[:-1]]).astype(np.int64)
    is_first = np.zeros(len(members), bool)
    is_first[firsts] = True
    # Coordinate positions of every member, reversed when flipped, dropping the shared
    # first coordinate of each member after the first.
    pstart, plen = p.ptr[members], p.ptr[members + 1] - p.ptr[members]
    pos = ranges(pstart, plen)
    member_of_pos = np.repeat(np.arange(len(members)), plen)
    off = pos - np.repeat(pstart, plen)
    rev = flips[member_of_pos]
    pos = np.where(rev, np.repeat(pstart + plen - 1, plen) - off, pos)
    drop = (off == 0) & ~is_first[member_of_pos]
    pos = pos[~drop]
    chain_ncoords = np.bincount(chain_of[member_of_pos[~drop]], minlength=m)

    f_mem = members[firsts]
    last = np.append(firsts[1:] - 1, len(members) - 1)
    l_mem = members[last]
    c_start = np.where(flips[firsts], p.end[f_mem], p.start[f_mem])
    c_end = np.where(flips[last], p.start[l_mem], p.end[l_mem])

    a_len = p.ptr[alone_idx + 1] - p.ptr[alone_idx]
    a_pos = ranges(p.ptr[alone_idx], a_len)
    all_pos = np.concatenate([a_pos, pos])
    ncoords = np.concatenate([a_len, chain_ncoords])
    return Pieces(
        start=np.concatenate([p.start[alone_idx], c_start]),
        end=np.concatenate([p.end[alone_idx], c_end]),
        group=np.concatenate([p.group[alone_idx], p.group[f_mem]]),
        oneway=np.concatenate([p.oneway[alone_idx], p.oneway[f_mem]]),
        ptr=np.concatenate([[0], np.cumsum(ncoords)]),
        lon=p.lon[all_pos], lat=p.lat[all_pos],
        length_m=np.concatenate([p.length_m[alone_idx], np.bincount(chain_of, p.length_m[members], m)]),
        time_s=np.concatenate([p.time_s[alone_idx], np.bincount(chain_of, p.time_s[members], m)]),
    )


def pieces_to_edges(p: Pieces, node_ids: np.ndarray, attrs: pd.DataFrame) -> gpd.GeoDataFrame:
    """Directed edge rows: one per one-way piece, two (both directions) per two-way piece.

    ``node_ids`` maps dense node indices to ids; ``attrs`` is indexed by group code and
    holds the edge columns shared by a group (mode, class, name, ...). Geometries of
    both directions are made in one vectorised call (reversed rows by index arithmetic).
    """
    n = len(p)
    two = np.flatnonzero(~p.oneway)
    idx = np.concatenate([np.arange(n), two])
    cnt = np.diff(p.ptr)[idx]
    first = p.ptr[idx]
    rev = np.arange(len(idx)) >= n
    geom = np.empty(len(idx), dtype=object)
    # In chunks, so the coordinate copies stay small next to the geometries themselves.
    for lo in range(0, len(idx), GEOMETRY_CHUNK):
        hi = min(lo + GEOMETRY_CHUNK, len(idx))
        c, f = cnt[lo:hi], first[lo:hi]
        pos = ranges(f, c)
        r = np.repeat(rev[lo:hi], c)
        if r.any():
            # Reversed rows: mirror the coordinate positions within each range.
            off = pos - np.repeat(f, c)
            pos = np.where(r, np.repeat(f + c - 1, c) - off, pos)
        geom[lo:hi] = shapely.from_ragged_array(
            shapely.GeometryType.LINESTRING, np.column_stack([p.lon[pos], p.lat[pos]]),
            (np.concatenate([[0], np.cumsum(c)]),))
        del pos
        release_memory()
    del cnt, first, rev
    a = np.concatenate([p.start, p.end[two]])
    b = np.concatenate([p.end, p.start[two]])
    grp = p.group[idx]
    cols: dict[str, object] = {"u": node_ids[a], "v": node_ids[b], "key": parallel_keys(a, b)}
    del a, b
    for col in attrs.columns:
        values = attrs[col].to_numpy()
        # object dtype: pandas would otherwise convert millions of repeated strings.
        cols[col] = pd.Series(values[grp], dtype=object if values.dtype == object else values.dtype)
    cols["oneway"] = p.oneway[idx]
    cols["length_m"] = p.length_m[idx]
    cols["travel_time_s"] = np.maximum(p.time_s[idx], 0.01)
    # copy=False: millions of rows; the default would copy every column into blocks.
    frame = pd.DataFrame(cols, copy=False)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geom, crs=WGS84), copy=False)


def parallel_keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MultiDiGraph keys: 0, 1, ... over rows with the same (a, b) pair, in row order."""
    if len(a) == 0:
        return np.zeros(0, np.int64)
    pair = np.asarray(a, np.int64) * (int(max(a.max(), b.max())) + 1) + np.asarray(b, np.int64)
    order = np.argsort(pair, kind="stable")
    sp_ = pair[order]
    new = np.ones(len(sp_), bool)
    new[1:] = sp_[1:] != sp_[:-1]
    run_start = np.maximum.accumulate(np.where(new, np.arange(len(sp_)), 0))
    keys = np.empty(len(a), np.int64)
    keys[order] = np.arange(len(sp_)) - run_start
    return keys


def group_codes(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Integer code per row for equal attribute tuples (missing values equal each other),
    and the first row of each code."""
    if len(table) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    codes = table.groupby(list(table.columns), dropna=False, sort=False).ngroup().to_numpy(np.int64)
    first = np.full(codes.max() + 1, len(codes), np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return codes, first


GROUP_COLUMNS = ("mode", "class", "name", "ref", "line", "oneway", "speed_kmh", "status", "source")


def simplify_network(net, min_component: int = MIN_COMPONENT_NODES):
    """Contract pass-through nodes of any Network; drop components below ``min_component``.

    Two-way links (``oneway`` False, stored as two rows) are paired back into one piece;
    pieces are merged only where class, name, speed, mode, status and one-way agree.
    Returns ``(network, report)`` with the numbers of nodes/edges before and after and of
    dropped components.
    """
    from .model import Network

    e = net.edges
    cols = [c for c in GROUP_COLUMNS if c in e.columns]
    ids = net.nodes["id"].to_numpy(np.int64)
    dense = pd.Index(ids)
    u = dense.get_indexer(e["u"].to_numpy())
    v = dense.get_indexer(e["v"].to_numpy())
    oneway = e["oneway"].to_numpy(bool)
    # Keep one row per two-way link: the one with u < v (loops: the first of each twin).
    keep = oneway | (u < v)
    loops = ~oneway & (u == v)
    if loops.any():
        first = ~e[loops].duplicated(subset=["u", "length_m"])
        keep[np.flatnonzero(loops)[first.to_numpy()]] = True
    sel = np.flatnonzero(keep)
    sub = pd.DataFrame(e.loc[sel, cols]).reset_index(drop=True)
    group, first = group_codes(sub)
    attrs = sub.iloc[first].reset_index(drop=True)
    mode_code = pd.factorize(e["mode"].to_numpy()[sel])[0]
    comp_keep, n_comp, n_comp_nodes = small_components(u[sel], v[sel], mode_code, min_component)
    sel, group = sel[comp_keep], group[comp_keep]
    coords, which = shapely.get_coordinates(e.geometry.values[sel], return_index=True)
    counts = np.bincount(which, minlength=len(sel))
    pieces = Pieces(start=u[sel], end=v[sel], group=group, oneway=oneway[sel],
                    ptr=np.concatenate([[0], np.cumsum(counts)]), lon=coords[:, 0], lat=coords[:, 1],
                    length_m=e["length_m"].to_numpy(float)[sel],
                    time_s=e["travel_time_s"].to_numpy(float)[sel])
    forced = ~net.nodes["kind"].isin(["junction"]).to_numpy()
    merged = merge_pieces(pieces, forced)
    edges = pieces_to_edges(merged, ids, attrs.drop(columns=["oneway"]))
    used = unique(np.concatenate([merged.start, merged.end]))
    nodes = net.nodes.iloc[used].reset_index(drop=True)
    report = {"nodes_before": int(len(net.nodes)), "edges_before": int(len(e)),
              "nodes_after": int(len(nodes)), "edges_after": int(len(edges)),
              "components_dropped": n_comp, "component_nodes_dropped": n_comp_nodes}
    return Network(nodes, edges, net.meta), report
