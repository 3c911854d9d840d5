"""The geocoded geography of the region: admin units, water, gazetteer, structures, seeds.

Every loader returns a GeoDataFrame in WGS84 read from the committed files in
``geodata/`` (see geodata/README.md for sources, licences and precision).
"""
