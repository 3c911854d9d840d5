"""The reference layers drawn under every map, web or static: one type, one loader."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd

from ..errors import DataWarning, InputError


@dataclass
class Background:
    """Context layers under every map (WGS84 GeoDataFrames; any may be missing).

    ``city`` is the eight 两区六市 units, ``county`` their counties, ``context`` the
    neighbouring cities, ``lakes``/``rivers`` the water, ``land`` the land outline around
    the region (so the sea reads as sea outside ``context``). ``sources`` are the
    attribution keys of style.ATTRIBUTIONS these layers need.
    """

    city: gpd.GeoDataFrame | None = None
    county: gpd.GeoDataFrame | None = None
    context: gpd.GeoDataFrame | None = None
    lakes: gpd.GeoDataFrame | None = None
    rivers: gpd.GeoDataFrame | None = None
    land: gpd.GeoDataFrame | None = None
    sources: tuple[str, ...] = ("amap_boundaries", "natural_earth")

    @classmethod
    def load(cls) -> Background:
        """The committed layers of the region; a missing one is skipped with a counted warning."""
        from ..layers import admin, water

        out = cls()
        missing = []
        for attr, fn in (("city", admin.admin_city), ("county", admin.admin_county),
                         ("context", admin.admin_context), ("lakes", water.lakes),
                         ("rivers", water.rivers), ("land", admin.land_context)):
            try:
                setattr(out, attr, fn())
            except (InputError, OSError) as exc:
                missing.append(f"{attr} ({exc})")
        if missing:
            warnings.warn(f"{len(missing)} background layer(s) unavailable: {'; '.join(missing)}",
                          DataWarning, stacklevel=2)
        return out
