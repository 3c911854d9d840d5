"""The Dask path (LocalCluster, 2 worker processes) gives exactly the single-process results."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from accessibility_helpers import X0, Y0, grid_network, points_frame

from kechuang_gis.analysis import kernels
from kechuang_gis.analysis.accessibility import accessibility
from kechuang_gis.analysis.distributed import client_for, run_distributed

pytest.importorskip("distributed")

AREA = gpd.GeoSeries([shapely.box(X0 - 1000, Y0 - 1000, X0 + 12000, Y0 + 9000)], crs="EPSG:4549")
NO_LAKES = gpd.GeoSeries([], crs="EPSG:4326")


def test_two_workers_identical():
    net = grid_network(nx_=20, ny=14, spacing=500.0, oneway_row=3)
    rng = np.random.default_rng(1)
    dxy = [(X0 + a, Y0 + b) for a, b in rng.uniform(0, 9000, size=(7, 2))]
    dests = points_frame(dxy, ids=[f"d{i}" for i in range(7)], mass=rng.uniform(1, 5, 7))
    metrics = "nearest,cumulative:5,10,gravity,2sfca,od,isochrones"
    kw = dict(mass_col="mass", area=AREA, lakes=NO_LAKES, isochrone_minutes=(5, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = accessibility(net, "grid:1000", dests, metrics, **kw)
        with client_for(workers=2) as client:
            assert len(client.scheduler_info()["workers"]) == 2
            graph = net.csr()
            # The kernel on the cluster, batch of 1 destination per task.
            snap_o = kernels.node_sources(graph, np.arange(graph.n))
            snap_d = kernels.node_sources(graph, [0, 5, 77, 200])
            problem = kernels.prepare(graph, snap_o, snap_d, net.meta["access"])
            a, _ = kernels.run(problem)
            b, _ = run_distributed(problem, client=client, batch=1)
            assert np.array_equal(a, b)
            # The public API on the same cluster, reached through its scheduler address.
            dist = accessibility(net, "grid:1000", dests, metrics, scheduler=client.scheduler.address,
                                 batch=2, **kw)
    for col in local.metric_columns:
        assert np.array_equal(local.origins[col].to_numpy(), dist.origins[col].to_numpy(), equal_nan=True), col
    assert local.od.equals(dist.od)
    assert all(a.equals(b) for a, b in zip(local.isochrones.geometry, dist.isochrones.geometry, strict=True))
