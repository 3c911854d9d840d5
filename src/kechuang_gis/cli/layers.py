"""`kechuang-gis layers build|info`: the geocoded layers of the region."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("layers", help="build the region's layers (admin, water, gazetteer, structures)")
    lsub = p.add_subparsers(dest="layers_command", metavar="ACTION", required=True)
    b = lsub.add_parser("build", help="write DIR/layers.gpkg with one table per layer")
    b.add_argument("--out", required=True, help="output folder")
    b.set_defaults(handler=_build)


def _build(args: argparse.Namespace) -> int:
    from ..layers.build import load_layers, write_layers

    layers = load_layers()
    path = write_layers(layers, args.out)
    for name, gdf in layers.items():
        print(f"{name:14s} {len(gdf):5d} features")
    print(f"wrote {path}")
    return 0
