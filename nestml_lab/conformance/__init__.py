"""Conformance: models run against NEST's own, under the same inputs, with a table of how closely they match.

- :mod:`.twins`: each neuron of a project that names a NEST twin (``twins:`` in its ``module.yaml``) against
  that twin (``nestml-lab validate PROJECT``);
- :mod:`.library`: NESTML's shipped neuron library as such a project (``nestml-lab validate --nestml-library``).
"""

from nestml_lab.conformance.twins import Comparison, compare, markdown, save, validate

__all__ = ["Comparison", "compare", "markdown", "save", "validate"]
