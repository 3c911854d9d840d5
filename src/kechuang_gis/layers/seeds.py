"""The structured digest of the five seed policy texts (``seeds/*.yaml``).

The digest is written in our own words; it links the places each text names to
gazetteer ids, records the figures it gives with units, and the concepts the analysis
uses (e.g. the 节点思维 of seed 002 that node strength measures).
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import yaml

from ..errors import InputError
from ..settings import SEEDS_DIR


@lru_cache(maxsize=1)
def _load() -> tuple[dict, ...]:
    files = sorted(SEEDS_DIR.glob("*.yaml"))
    if not files:
        raise InputError(f"no seed digests found in {SEEDS_DIR}")
    out = []
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: invalid YAML ({exc})") from exc
        if not isinstance(doc, dict) or "file" not in doc:
            raise InputError(f"{path}: a seed digest needs a top-level mapping with 'file'")
        out.append(doc)
    return tuple(out)


def load_digests() -> list[dict]:
    """All seed digests, ordered by file name."""
    return [dict(d) for d in _load()]


def mentions() -> dict[str, list[str]]:
    """gazetteer id -> the seed files whose digest links it."""
    out: dict[str, set[str]] = defaultdict(set)
    for doc in _load():
        for place in doc.get("places") or []:
            out[str(place["gazetteer_id"])].add(doc["file"])
        for gid in (doc.get("innovation_units") or {}):
            out[str(gid)].add(doc["file"])
    return {k: sorted(v) for k, v in out.items()}


def roles() -> dict[str, list[tuple[str, str]]]:
    """gazetteer id -> [(seed file, role phrase)] for popups and reports."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for doc in _load():
        for place in doc.get("places") or []:
            out[str(place["gazetteer_id"])].append((doc["file"], str(place.get("role", ""))))
    return dict(out)


def innovation_units() -> dict[str, list[str]]:
    """gazetteer id -> distinct innovation units (institutes, labs, platforms...) the seeds link to it."""
    out: dict[str, set[str]] = defaultdict(set)
    for doc in _load():
        for gid, units in (doc.get("innovation_units") or {}).items():
            for u in units or []:
                out[str(gid)].add(str(u))
    return {k: sorted(v) for k, v in out.items()}


def figures() -> list[dict]:
    """Every figure of every digest, with its seed file."""
    return [dict(f, file=doc["file"]) for doc in _load() for f in (doc.get("figures") or [])]
