"""kechuang-gis: spatial planning GIS for the innovation geography around Lake Taihu.

Layers -> network -> analysis -> publish. See README.md and docs/ARCHITECTURE.md.
"""

__version__ = "0.1.0"
