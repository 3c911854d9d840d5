"""Defaults in one place: coordinate systems, speeds, the access model, paths.

Every number a user may want to change lives here and is documented; modules import
these names instead of repeating literals.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Storage and exchange CRS: every file we write and every GeoDataFrame we return.
WGS84 = "EPSG:4326"
#: Metric CRS for distances, areas, buffers, grids and snapping: CGCS2000 / 3-degree
#: Gauss-Kruger CM 120E, the projection planners in the Taihu region work in.
METRIC_CRS = "EPSG:4549"

#: Bounding box of the study region with a margin (lon_min, lat_min, lon_max, lat_max).
#: Used to detect swapped lon/lat and coordinates far from the region.
REGION_BBOX = (117.5, 29.5, 122.5, 32.8)

#: Repository root (editable install) and the committed data folders. Override with
#: KECHUANG_GEODATA / KECHUANG_SEEDS when the package is installed elsewhere.
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent.parent
GEODATA_DIR = Path(os.environ.get("KECHUANG_GEODATA", REPO_DIR / "geodata"))
SEEDS_DIR = Path(os.environ.get("KECHUANG_SEEDS", REPO_DIR / "seeds"))
SCENARIOS_DIR = Path(os.environ.get("KECHUANG_SCENARIOS", REPO_DIR / "scenarios"))
#: Cache for anything fetched from the network on request (Overpass, Nominatim, AMap).
CACHE_DIR = Path(os.environ.get("KECHUANG_CACHE", Path.home() / ".cache" / "kechuang-gis"))

#: The study area of seed 000: 环太湖"两区六市". (adcode, Chinese name, English name).
#: Shanghai's two districts are units of their own; the six cities are prefecture level.
STUDY_UNITS: tuple[tuple[str, str, str], ...] = (
    ("310114", "嘉定区", "Jiading District"),
    ("310118", "青浦区", "Qingpu District"),
    ("320500", "苏州市", "Suzhou"),
    ("320200", "无锡市", "Wuxi"),
    ("320400", "常州市", "Changzhou"),
    ("330500", "湖州市", "Huzhou"),
    ("330400", "嘉兴市", "Jiaxing"),
    ("341800", "宣城市", "Xuancheng"),
)

# --- road speeds -------------------------------------------------------------------
#: Free-flow speed (km/h) by OSM highway class when `maxspeed` is missing or unparsable.
#: China's legal limits are the upper bound (motorway 120); these are typical operating
#: speeds for regional accessibility, the single table to edit.
ROAD_SPEED_KMH: dict[str, float] = {
    "motorway": 110.0,
    "trunk": 80.0,
    "primary": 60.0,
    "secondary": 50.0,
    "tertiary": 40.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 20.0,
    "motorway_link": 60.0,
    "trunk_link": 50.0,
    "primary_link": 40.0,
    "secondary_link": 35.0,
    "tertiary_link": 30.0,
}
#: Fallback when the class itself is unknown.
DEFAULT_ROAD_SPEED_KMH = 30.0

#: OSM highway values kept at each road level.
ROAD_LEVELS: dict[str, tuple[str, ...]] = {
    "regional": (
        "motorway", "trunk", "primary", "secondary",
        "motorway_link", "trunk_link", "primary_link", "secondary_link",
    ),
    "urban": (
        "motorway", "trunk", "primary", "secondary",
        "motorway_link", "trunk_link", "primary_link", "secondary_link",
        "tertiary", "tertiary_link", "unclassified", "residential",
    ),
    "all": (
        "motorway", "trunk", "primary", "secondary",
        "motorway_link", "trunk_link", "primary_link", "secondary_link",
        "tertiary", "tertiary_link", "unclassified", "residential",
        "living_street", "service",
    ),
}

# --- rail --------------------------------------------------------------------------
#: Average operating speed (km/h) between stops by rail class when a line gives none.
RAIL_SPEED_KMH: dict[str, float] = {
    "hsr": 250.0,
    "intercity": 160.0,
    "conventional": 100.0,
    "metro": 35.0,
}
#: Dwell time at each intermediate stop (minutes).
RAIL_DWELL_MIN = 2.0

# --- access model: how points off the network join it ------------------------------
# Every point (origin, destination, node, scenario point, a user's file) joins the network
# at the nearest point of the nearest edge a vehicle may enter mid-way, or at an entry
# node (station, interchange) when that is nearer. The joined edge is split there: the
# point reaches the edge's end nodes along the edge, at the edge's own speed, only in the
# directions the edge allows. What remains is the access leg, the straight line from the
# point to the network, at the access speed with the detour factor (zero for a point on
# the street). See analysis/snap.py.
#: Straight-line distance of the access leg is multiplied by this to approximate the
#: street path a straight line stands for (1.3: a common circuity factor for local roads).
ACCESS_DETOUR_FACTOR = 1.3
#: Speed of the access leg (km/h): local traffic (car, bus, e-bike) on the streets the
#: network does not hold.
ACCESS_SPEED_KMH = 30.0
#: Points farther than this from every joinable edge and entry node are unsnapped (NaN in
#: every measure, counted in one warning). Sized for each kind of network: the embedded
#: regional network holds fewer roads than an OSM street network.
MAX_SNAP_M_EMBEDDED = 25_000.0
MAX_SNAP_M_OSM = 3_000.0
#: Edge classes (OSM highway values and ours) that are never joined mid-way: a vehicle
#: enters them only at their nodes (motorway interchanges via the links' ends). Rail,
#: transfer and access edges are never joined mid-way either (stations are entry nodes).
NO_MIDEDGE_CLASSES = ("motorway", "motorway_link", "ferry")
#: Edge modes that may be joined mid-way.
MIDEDGE_MODES = ("road",)
#: Node kinds at which a point may join the network directly (as well as any node of a
#: joinable edge): stations and interchanges. A ``junction`` of the embedded network is a
#: motorway-to-motorway hub with no exit and is not one; ``platform`` nodes are reached
#: from their station only.
ENTRY_NODE_KINDS = ("station", "interchange_station", "interchange", "town", "city", "toll",
                    "endpoint", "border", "pier")
#: A point that projects within this distance (metres) of an edge's end joins the end
#: node itself, so a point on a node may leave it in every direction the node allows.
SNAP_NODE_TOLERANCE_M = 0.5
#: A direct walk between two points, bypassing the network, is allowed up to this
#: straight distance (metres) and never across water. 0 (the default) disables it: the
#: product measures network travel times, and on an OSM street network every point is
#: already within metres of a street. Set e.g. 300 for pedestrian-scale studies.
DIRECT_WALK_MAX_M = 0.0
#: Walking speed for the direct walk (km/h).
WALK_SPEED_KMH = 5.0
#: Lakes are a barrier to access legs: a point more than this far inside a lake, or a leg
#: running more than this far across one, is not joined (the precision of the committed
#: lake outlines, Natural Earth 1:10m, about 500 m).
WATER_TOLERANCE_M = 500.0

# --- rail boarding -----------------------------------------------------------------
#: Boarding rail is an edge of the network (station hub -> platform), paid once per rail
#: trip however the station is reached; alighting (platform -> hub) and changing lines
#: (platform -> platform of another line) have their own costs.
RAIL_BOARDING_MIN = 10.0
RAIL_ALIGHTING_MIN = 0.0
RAIL_TRANSFER_MIN = 10.0
#: Kept for callers of the old name: the boarding cost at a station.
TRANSFER_PENALTY_MIN = RAIL_BOARDING_MIN

#: Timeouts for network services used only on request (seconds).
HTTP_TIMEOUT_S = 30
