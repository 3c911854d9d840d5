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

# --- access model (sketch level; replaced by real streets with OSM sources) ---------
#: Straight-line distance is multiplied by this to approximate the street path.
ACCESS_DETOUR_FACTOR = 1.3
#: Speed of the access leg (km/h): local streets by car or bus.
ACCESS_SPEED_KMH = 30.0
#: Number of nearest network nodes a point is joined to.
ACCESS_K_NEAREST = 3
#: Points farther than this from any network node are reported as unsnapped (metres).
#: Sized for the embedded strategic network, whose nodes are interchanges and stations;
#: OSM street networks record a tighter value in their meta.json.
MAX_SNAP_M_EMBEDDED = 25_000.0
MAX_SNAP_M_OSM = 3_000.0
#: Penalty for changing between road and rail at a station (minutes).
TRANSFER_PENALTY_MIN = 10.0

#: Timeouts for network services used only on request (seconds).
HTTP_TIMEOUT_S = 30
