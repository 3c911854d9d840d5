"""`kechuang-gis run`: layers -> network -> analysis -> publish on the embedded data.

The pipeline only wires the steps; each step is a function of the modules that own it.
Every product is written atomically; running twice gives the same files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from .io import write_json

log = logging.getLogger(__name__)


@dataclass
class RunConfig:
    """What `run` computes. Defaults are the region-wide demo on the embedded network."""

    out_dir: Path = Path("outputs")
    maps_dir: Path = Path("maps")
    #: H3 resolution 7 cells are ~5 km2: about 8,000 cells over the 两区六市.
    origins: str = "hex:7"
    destinations: str = "parks"
    metrics: str = "nearest,cumulative:30,45,60,gravity,2sfca,isochrones"
    decay: str = "exp"
    beta: float | None = None
    isochrone_minutes: tuple[float, ...] = (15, 30, 45, 60, 90)
    node_sensitivity_betas: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)
    scenario: bool = True
    publish: bool = True
    basemap: str = "none"
    offline: bool = True
    lang: str = "zh"
    workers: int | None = None


def run(config: RunConfig | None = None, progress: Callable[[str], None] | None = None) -> dict:
    """Run every step; return a dict of what was produced (also written to run.json)."""
    cfg = config or RunConfig()
    say = progress or (lambda msg: log.info(msg))
    out = Path(cfg.out_dir)
    products: dict[str, object] = {}
    timings: dict[str, float] = {}

    def step(name: str, fn: Callable[[], object]) -> object:
        say(f"[{len(timings) + 1}] {name} ...")
        t0 = time.perf_counter()
        result = fn()
        timings[name] = round(time.perf_counter() - t0, 1)
        say(f"    {name}: done in {timings[name]} s")
        return result

    from .layers.build import load_layers, write_layers

    layers = step("layers", load_layers)
    products["layers"] = str(write_layers(layers, out / "layers"))

    from .network.embedded import build_embedded

    network = step("network (embedded)", lambda: build_embedded(statuses="all"))
    network.save(out / "network")
    products["network"] = str(out / "network")

    from .analysis.accessibility import accessibility

    acc = step("accessibility", lambda: accessibility(
        network, cfg.origins, cfg.destinations, cfg.metrics, decay=cfg.decay, beta=cfg.beta,
        isochrone_minutes=cfg.isochrone_minutes, workers=cfg.workers))
    acc.write(out / "accessibility")
    products["accessibility"] = str(out / "accessibility")

    from .analysis.node_strength import DEFAULT_KINDS, node_strength
    from .layers.gazetteer import select_places

    nodes = select_places(kinds=DEFAULT_KINDS, statuses=("existing", "under_construction"))
    ns = step("node strength", lambda: node_strength(
        network, nodes, sensitivity_betas=cfg.node_sensitivity_betas,
        sensitivity_modes=(("road",), ("road", "rail"))))
    ns.write(out / "node_strength")
    products["node_strength"] = str(out / "node_strength")

    scenario_dir = None
    if cfg.scenario:
        from .analysis.scenario import run_default_scenario

        scenario_dir = out / "scenario"
        step("scenario", lambda: run_default_scenario(scenario_dir, workers=cfg.workers))
        products["scenario"] = str(scenario_dir)

    if cfg.publish:
        from .publish.report import publish_all

        published = step("publish", lambda: publish_all(
            layers=layers, network=network, accessibility=acc, node_strength=ns,
            scenario_dir=scenario_dir, maps_dir=Path(cfg.maps_dir), out_dir=out,
            basemap=cfg.basemap, offline=cfg.offline, lang=cfg.lang))
        products["maps"] = published

    # Timings vary run to run; they are reported but kept out of the written record so
    # that running twice gives the same files.
    record = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
              "products": products}
    write_json(record, out / "run.json")
    products["timings_s"] = timings
    return products
