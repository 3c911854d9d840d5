"""What a network holds: counts, lengths, connectivity and extent (``network info``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .model import Network


def physical_length_m(edges: pd.DataFrame) -> pd.Series:
    """Per-row share of physical length: a two-way link is stored as two rows, so each
    counts half; a one-way row counts in full."""
    return edges["length_m"].astype(float) * np.where(edges["oneway"].to_numpy(bool), 1.0, 0.5)


def summarize(net: Network) -> dict:
    """Counts by mode and class, physical length (km) by mode and class, weakly and
    strongly connected components of the operating network, and the bounding box."""
    e = net.edges
    length = physical_length_m(e)
    by_mode = {}
    for mode, g in e.groupby("mode", sort=True):
        classes = {}
        for cls, gc in g.groupby(g["class"].fillna("(none)"), sort=True):
            classes[str(cls)] = {"edges": int(len(gc)), "length_km": round(float(length[gc.index].sum()) / 1000, 3)}
        by_mode[str(mode)] = {"edges": int(len(g)), "length_km": round(float(length[g.index].sum()) / 1000, 3),
                              "classes": classes}
    kinds = {str(k): int(v) for k, v in net.nodes["kind"].value_counts().sort_index().items()}
    ids = net.nodes["id"].to_numpy(np.int64)
    pos = pd.Index(ids)
    op = e[e["status"] == "operating"]
    u = pos.get_indexer(op["u"].to_numpy())
    v = pos.get_indexer(op["v"].to_numpy())
    used = np.unique(np.concatenate([u, v])) if len(u) else np.zeros(0, np.int64)
    # Components over the nodes that carry operating edges (isolated nodes would each
    # count as a component and hide what matters).
    remap = np.full(len(ids), -1)
    remap[used] = np.arange(len(used))
    g = sp.csr_array((np.ones(len(u)), (remap[u], remap[v])), shape=(len(used), len(used)))
    comps = {}
    for name, strong in (("weak", False), ("strong", True)):
        if len(used) == 0:
            comps[name] = {"count": 0, "largest_nodes": 0, "largest_share": 0.0}
            continue
        n, labels = connected_components(g, directed=True, connection="strong" if strong else "weak")
        sizes = np.bincount(labels)
        comps[name] = {"count": int(n), "largest_nodes": int(sizes.max()),
                       "largest_share": round(float(sizes.max() / len(used)), 4)}
    b = net.nodes.total_bounds
    return {
        "source": net.meta.get("source"),
        "nodes": int(len(net.nodes)),
        "node_kinds": kinds,
        "edges": int(len(e)),
        "by_mode": by_mode,
        "by_status": {str(k): int(v) for k, v in e["status"].value_counts().sort_index().items()},
        "length_km": round(float(length.sum()) / 1000, 3),
        "components": comps,
        "bbox": [round(float(x), 6) for x in b],
        "length_method": net.meta.get("length_method"),
    }


def render_summary(summary: dict) -> str:
    """Plain-text rendering of :func:`summarize` for the terminal."""
    s = summary
    lines = [f"source: {s['source']}",
             f"nodes: {s['nodes']:,} ({', '.join(f'{k} {v:,}' for k, v in s['node_kinds'].items())})",
             f"edges: {s['edges']:,} directed rows, {s['length_km']:,.1f} km of links"
             + (f" (lengths {s['length_method']})" if s.get("length_method") else ""),
             "by mode and class:"]
    for mode, m in s["by_mode"].items():
        lines.append(f"  {mode:<10} {m['edges']:>9,} edges {m['length_km']:>11,.1f} km")
        for cls, c in m["classes"].items():
            lines.append(f"    {cls:<18} {c['edges']:>9,} edges {c['length_km']:>11,.1f} km")
    if s["by_status"]:
        lines.append("status: " + ", ".join(f"{k} {v:,}" for k, v in s["by_status"].items()))
    for name in ("weak", "strong"):
        c = s["components"][name]
        lines.append(f"{name}ly connected components (operating edges): {c['count']:,}; largest "
                     f"{c['largest_nodes']:,} nodes ({c['largest_share']:.1%})")
    x0, y0, x1, y1 = s["bbox"]
    lines.append(f"bounding box (WGS84): {x0:.4f}, {y0:.4f} – {x1:.4f}, {y1:.4f}")
    return "\n".join(lines)
