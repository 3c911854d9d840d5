"""Benchmark: OSM file -> routable network, this project's PBF reader vs osmnx on XML.

Writes the synthetic grid network of ``bench/synthetic.py`` (hierarchical road classes,
one-way streets, maxspeed tags incl. junk) as .osm.pbf and .osm XML into ``bench/data/``
(gitignored), then measures in one run, each engine in its own subprocess:

* ours:  ``build_network(FILE.osm.pbf, area="all", modes="road", roads="all")`` —
  streaming read, clipping, geodesic lengths, speeds, simplification, component filter,
  the Network GeoDataFrames in memory;
* osmnx: ``ox.graph_from_xml(FILE.osm, simplify=True, retain_all=True)`` — the peer's
  way of reading a local file into a simplified graph.

Wall time is measured around the child process (interpreter start and imports
included for both); peak memory is the child's own maximum resident set size from
``os.wait4`` (``ru_maxrss``). osmnx runs past ``--timeout`` seconds are killed and
reported as ">T". Results go to the ``network_build`` section of ``bench/RESULTS.md``.

Usage: ``python bench/network_build.py [--sizes 100000,1000000] [--timeout 1200]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "RESULTS.md"
SECTION = "network_build"
TARGET_SPEEDUP = 5.0
TARGET_PEAK_GB = 2.0


# --- child side ----------------------------------------------------------------------

def _child(engine: str, path: str, out: str) -> None:
    if engine == "ours":
        from kechuang_gis.network.build import build_network

        net = build_network(path, area="all", modes="road", roads="all")
        res = {"nodes": len(net.nodes), "edges": len(net.edges)}
    else:
        import osmnx as ox

        G = ox.graph_from_xml(path, simplify=True, retain_all=True)
        res = {"nodes": G.number_of_nodes(), "edges": G.number_of_edges()}
    Path(out).write_text(json.dumps(res))


# --- parent side ---------------------------------------------------------------------

def run_engine(engine: str, path: Path, timeout: float) -> dict:
    """Run one engine in a child process; wall seconds, peak RSS (MB), graph size."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", engine, str(path), out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t0 > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            timed_out = True
            break
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    res = {"engine": engine, "file": path.name, "wall_s": wall, "peak_mb": usage.ru_maxrss / 1024.0,
           "timed_out": timed_out, "ok": proc.returncode == 0 and not timed_out}
    if res["ok"]:
        res.update(json.loads(Path(out).read_text()))
    elif not timed_out:
        res["error"] = err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}"
    Path(out).unlink(missing_ok=True)
    return res


def write_data(n: int) -> tuple[Path, Path, int]:
    sys.path.insert(0, str(HERE))
    import synthetic

    DATA.mkdir(parents=True, exist_ok=True)
    pbf, xml = DATA / f"grid_{n}.osm.pbf", DATA / f"grid_{n}.osm"
    net = synthetic.generate(n)
    if not pbf.exists():
        synthetic.write_osm(net, pbf)
    if not xml.exists():
        synthetic.write_osm(net, xml)
    return pbf, xml, net.n


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        txt = Path("/proc/cpuinfo").read_text()
        m = re.search(r"model name\s*:\s*(.+)", txt)
        cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    import osmium
    import osmnx

    try:
        from importlib.metadata import version

        osmium_v = version("osmium")
    except Exception:  # pragma: no cover
        osmium_v = getattr(osmium, "__version__", "?")
    return (f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, osmnx {osmnx.__version__}, "
            f"pyosmium {osmium_v}")


def fmt_time(r: dict, timeout: float) -> str:
    return f">{timeout:.0f} s" if r["timed_out"] else (f"{r['wall_s']:.1f} s" if r["ok"] else "failed")


def render(rows: list[dict], timeout: float) -> str:
    lines = [
        f"<!-- BEGIN {SECTION} -->",
        "## Network build: OSM file → routable network",
        "",
        f"Run: {time.strftime('%Y-%m-%d %H:%M')}, `python bench/network_build.py`. Machine: {machine()}.",
        "",
        "Synthetic grid road network (`bench/synthetic.py`: motorways, primaries, secondaries, "
        "residential streets, one-way streets, maxspeed tags incl. junk). *Ours*: "
        "`build_network(FILE.osm.pbf, area='all', modes='road', roads='all')` (pyosmium two-pass "
        "stream, geodesic lengths, speeds, simplification, components, GeoDataFrames). *osmnx*: "
        "`ox.graph_from_xml(FILE.osm, simplify=True, retain_all=True)` on the same data as XML. "
        "Each engine in its own process; wall time includes interpreter start and imports; "
        "peak memory is the child's maximum RSS (`os.wait4`).",
        "",
        "| OSM nodes | PBF MB | XML MB | ours time | ours peak MB | osmnx time | osmnx peak MB | speed-up | memory ratio | network (ours / osmnx) nodes, edges |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        o, x = r["ours"], r["osmnx"]
        if o["ok"] and x["ok"]:
            speed = f"{x['wall_s'] / o['wall_s']:.1f}×"
        elif o["ok"] and x["timed_out"]:
            speed = f">{timeout / o['wall_s']:.1f}×"
        else:
            speed = "n/a"
        mem = f"{x['peak_mb'] / o['peak_mb']:.1f}×" if o["ok"] and x["ok"] else "n/a"
        size = (f"{o.get('nodes', '?'):,} / {x.get('nodes', '?') if not x['ok'] else format(x['nodes'], ',')}, "
                f"{o.get('edges', '?'):,} / {x.get('edges', '?') if not x['ok'] else format(x['edges'], ',')}")
        lines.append(f"| {r['n']:,} | {r['pbf_mb']:.2f} | {r['xml_mb']:.1f} | {fmt_time(o, timeout)} | "
                     f"{o['peak_mb']:,.0f} | {fmt_time(x, timeout)} | "
                     f"{x['peak_mb']:,.0f}{' (at kill)' if x['timed_out'] else ''} | {speed} | {mem} | {size} |")
    big = max(rows, key=lambda r: r["n"])
    o, x = big["ours"], big["osmnx"]
    if o["ok"]:
        sp = (x["wall_s"] / o["wall_s"]) if x["ok"] else (timeout / o["wall_s"] if x["timed_out"] else float("nan"))
        met_speed = sp >= TARGET_SPEEDUP
        met_mem = o["peak_mb"] / 1024 < TARGET_PEAK_GB
        lines += ["", f"Targets at {big['n']:,} nodes: ≥{TARGET_SPEEDUP:.0f}× faster than osmnx — "
                  f"{'met' if met_speed else 'NOT met'} ({'≥' if x['timed_out'] else ''}{sp:.1f}×); "
                  f"peak memory < {TARGET_PEAK_GB:.0f} GB — {'met' if met_mem else 'NOT met'} "
                  f"({o['peak_mb'] / 1024:.2f} GB)."]
        if big["n"] < 1_000_000:
            lines.append("(The 1M-node size was not part of this run: the targets are stated for 1M.)")
    errors = [f"{r['n']:,} {e}: {r[e]['error']}" for r in rows for e in ("ours", "osmnx") if r[e].get("error")]
    if errors:
        lines += ["", "Failures: " + "; ".join(errors)]
    lines += ["", "Node/edge counts differ by design: osmnx also contracts the grid's corner nodes, where "
              "two differently named ways meet; ours keeps a node wherever name, class, speed or "
              "one-way status change. Both store a two-way link as two directed rows.", f"<!-- END {SECTION} -->"]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    pat = re.compile(rf"<!-- BEGIN {SECTION} -->.*?<!-- END {SECTION} -->\n?", re.S)
    new = pat.sub(lambda _: text, old) if pat.search(old) else old.rstrip("\n") + "\n\n" + text
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, RESULTS)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="comma list of node counts")
    ap.add_argument("--timeout", type=float, default=1200.0, help="osmnx time cap per size (s)")
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "FILE", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        pbf, xml, n_real = write_data(n)
        print(f"{n_real:,} nodes: {pbf.name} {pbf.stat().st_size / 1e6:.1f} MB, {xml.name} "
              f"{xml.stat().st_size / 1e6:.1f} MB", flush=True)
        ours = run_engine("ours", pbf, timeout=args.timeout)
        print(f"  ours  {fmt_time(ours, args.timeout)} {ours['peak_mb']:.0f} MB {ours.get('error', '')}", flush=True)
        peer = run_engine("osmnx", xml, timeout=args.timeout)
        print(f"  osmnx {fmt_time(peer, args.timeout)} {peer['peak_mb']:.0f} MB {peer.get('error', '')}", flush=True)
        rows.append({"n": n_real, "pbf_mb": pbf.stat().st_size / 1e6, "xml_mb": xml.stat().st_size / 1e6,
                     "ours": ours, "osmnx": peer})
        write_section(render(rows, args.timeout))  # after each size: partial results survive
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
