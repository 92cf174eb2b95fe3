"""NESTML sources -> C++ for one NEST extension module: manifest, cached generation, registration."""

#: Version of this toolkit; part of every cache key, so a new version regenerates everything.
TOOLKIT_VERSION = "0.1.0"
