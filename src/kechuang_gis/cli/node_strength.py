"""`kechuang-gis node-strength`: rank the strategic nodes (节点) on the transport network."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from ..analysis.node_strength import (
        DEFAULT_KINDS,
        DEFAULT_WEIGHTS,
        MIN_TIME_MIN,
        SENSITIVITY_BETAS,
    )

    weights = ",".join(f"{k}={v:g}" for k, v in DEFAULT_WEIGHTS.items())
    p = sub.add_parser(
        "node-strength",
        help="gravity, accessibility and centrality strength of parks and hubs (节点思维)",
        description="Rank the region's nodes by gravity interaction, accessibility and network "
                    "centrality on a transport network; write node_strength.parquet/.csv, "
                    "flows.parquet, city_matrix.csv, sensitivity.csv and meta.json to OUT.",
    )
    p.add_argument("--network", required=True, metavar="DIR",
                   help="network folder (nodes/edges parquet + meta.json), or 'embedded' for the "
                        "embedded strategic network")
    p.add_argument("--nodes", default="gazetteer", metavar="gazetteer|PATH",
                   help="'gazetteer' (default) or a CSV (id,lon,lat,...)/GeoJSON/GPKG/GeoParquet file")
    p.add_argument("--kinds", metavar="K,K",
                   help=f"node kinds to keep (gazetteer default: {','.join(DEFAULT_KINDS)}; "
                        "'all' for every kind)")
    p.add_argument("--city", metavar="ADCODE", help="keep nodes of these 两区六市 units (comma list)")
    p.add_argument("--status", metavar="S,S", help="keep nodes with these statuses (e.g. existing,planned)")
    p.add_argument("--mass-col", metavar="COL",
                   help="column with a measured mass (> 0); default: a documented proxy, labelled as such")
    p.add_argument("--decay", choices=("power", "exp"), default="power",
                   help="distance decay: power t^-beta (default) or exp(-beta t), t in minutes")
    p.add_argument("--beta", type=float, help="decay parameter (default 1 for power, 0.05/min for exp)")
    p.add_argument("--modes", metavar="M,M", help="road,rail (default: every mode the network has)")
    p.add_argument("--weights", metavar="W", help=f"composite weights (default {weights})")
    p.add_argument("--top-k", type=int, default=5, metavar="K", help="flows kept per node (default 5)")
    p.add_argument("--min-time", type=float, default=MIN_TIME_MIN, metavar="MIN",
                   help=f"floor of pair travel times in minutes (default {MIN_TIME_MIN:g})")
    p.add_argument("--sensitivity-betas", metavar="B,B",
                   help=f"beta sweep for sensitivity.csv (default {_fmt(SENSITIVITY_BETAS['power'])} "
                        f"for power, {_fmt(SENSITIVITY_BETAS['exp'])} for exp; 'none' to skip)")
    p.add_argument("--datum", default="wgs84", help="datum of a node file's coordinates (wgs84, gcj02, bd09)")
    p.add_argument("--out", required=True, metavar="OUT", help="output folder")
    p.set_defaults(handler=_run)


def _fmt(values) -> str:
    return ",".join(f"{v:g}" for v in values)


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def _floats(text: str, what: str) -> list[float]:
    from ..errors import InputError

    try:
        return [float(t) for t in _split(text) or []]
    except ValueError as exc:
        raise InputError(f"{what}: expected numbers separated by commas, got {text!r}") from exc


def load_network(spec: str):
    """A saved network folder, or the embedded strategic network for 'embedded'."""
    from ..network.model import Network

    if spec.strip().lower() == "embedded":
        from ..network.embedded import build_embedded

        return build_embedded(statuses=("operating",))
    return Network.load(spec)


def load_nodes(spec: str, *, kinds: list[str] | None, statuses: list[str] | None,
               cities: list[str] | None, datum: str = "wgs84"):
    """Nodes from the gazetteer or a user file, filtered by kind, status and unit."""
    from ..analysis.node_strength import DEFAULT_KINDS, city_adcodes, prepare_nodes
    from ..errors import InputError

    if spec.strip().lower() == "gazetteer":
        from ..layers.gazetteer import load_gazetteer

        if kinds is None:
            kinds = list(DEFAULT_KINDS)
        nodes = load_gazetteer(located_only=True)
        source = "gazetteer"
    else:
        from ..io import read_points

        nodes = read_points(spec, datum=datum)
        source = str(Path(spec))
    if kinds is not None and [k.lower() for k in kinds] != ["all"]:
        _require(nodes, "kind", "--kinds", source)
        unknown = sorted(set(kinds) - set(nodes["kind"].astype(str)))
        if unknown and source == "gazetteer":
            from ..layers.gazetteer import KINDS

            bad = sorted(set(unknown) - set(KINDS))
            if bad:
                raise InputError(f"unknown kind(s) {bad}; the gazetteer has {', '.join(KINDS)}")
        nodes = nodes[nodes["kind"].astype(str).isin(kinds)]
    if source == "gazetteer":
        from ..layers.gazetteer import without_parts

        nodes = without_parts(nodes)
    if statuses is not None:
        _require(nodes, "status", "--status", source)
        nodes = nodes[nodes["status"].astype(str).isin(statuses)]
    nodes = prepare_nodes(nodes.reset_index(drop=True))
    if cities is not None:
        nodes["city_adcode"] = city_adcodes(nodes)
        nodes = nodes[nodes["city_adcode"].isin(cities)].reset_index(drop=True)
    if nodes.empty:
        raise InputError(f"{source}: no nodes left after the filters "
                         f"(kinds={kinds}, status={statuses}, city={cities})")
    return nodes, source


def _require(nodes, col: str, flag: str, source: str) -> None:
    from ..errors import InputError

    if col not in nodes.columns:
        raise InputError(f"{source}: {flag} needs a {col!r} column (columns: {', '.join(map(str, nodes.columns))})")


def _run(args: argparse.Namespace) -> int:
    from ..analysis.node_strength import SENSITIVITY_BETAS, node_strength

    network = load_network(args.network)
    nodes, source = load_nodes(args.nodes, kinds=_split(args.kinds), statuses=_split(args.status),
                               cities=_split(args.city), datum=args.datum)
    if args.sensitivity_betas is None:
        betas = SENSITIVITY_BETAS[args.decay]
    elif args.sensitivity_betas.strip().lower() == "none":
        betas = None
    else:
        betas = _floats(args.sensitivity_betas, "--sensitivity-betas")
    result = node_strength(
        network, nodes, mass_col=args.mass_col, decay=args.decay, beta=args.beta,
        modes=_split(args.modes), weights=args.weights, top_k=args.top_k,
        min_time_min=args.min_time, sensitivity_betas=betas,
    )
    result.meta["inputs"] = {"network": args.network, "nodes": source, "kinds": args.kinds,
                             "status": args.status, "city": args.city, "datum": args.datum}
    out = result.write(args.out)
    _print_summary(result, out)
    return 0


def _print_summary(result, out: Path) -> None:
    t = result.table
    print(f"{len(t)} nodes ranked; mass: {result.meta['mass']['source']}")
    cols = ["rank", "id", "name_zh", "tier", "composite_index", "gravity_strength_index", "mass"]
    print(t[cols].head(10).to_string(index=False))
    if result.sensitivity is not None:
        s = result.sensitivity
        print(f"sensitivity: {len(s)} variants, Spearman (composite) "
              f"{s['spearman_composite'].min():.3f}..{s['spearman_composite'].max():.3f}")
    print(f"wrote {out}/ ({', '.join(result.files)})")
