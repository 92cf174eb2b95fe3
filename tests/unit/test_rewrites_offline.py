"""The patches and rewrites on NESTML 9.0.0's committed raw output (tests/fixtures/nestml9_raw): the unit's
post-processing, as a module build runs it, without NESTML, NEST or a compiler."""

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from nestml_lab import paths
from nestml_lab.codegen import generate
from nestml_lab.codegen.manifest import load_manifest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nestml9_raw"
UNIT = "pair-izhikevich_neuron-stdp_synapse"
NEURON, PLAIN = "izhikevich_neuron_nestml__with_stdp_synapse_nestml", "izhikevich_neuron_nestml"
SYNAPSE = "stdp_synapse_nestml__with_izhikevich_neuron_nestml"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The unit installed from the fixture as a build installs it: {file name: text}, and the rewrite report."""
    # the fixture is NESTML's rk45 output (the catalog integrates izhikevich_neuron with forward-Euler now)
    manifest = dataclasses.replace(load_manifest(paths.MODELS_DIR), solvers={})
    unit = next(u for u in generate.plan_units(manifest, "3.10.0") if u.uid == UNIT)
    work = tmp_path_factory.mktemp("unit")
    src = work / "nestml_out"
    shutil.copytree(FIXTURES / UNIT, src)
    dest = work / UNIT
    generate._install_unit(unit, manifest, src, dest, key="test", nestml_key="raw")
    texts = {f.name: f.read_text() for f in dest.iterdir() if f.suffix in (".h", ".cpp")}
    assert {f"{NEURON}_defaults.cpp", f"{PLAIN}_defaults.cpp"} <= set(texts)   # R11's files, installed
    return texts, json.loads((dest / "REWRITES.json").read_text()), dest


def test_every_rewrite_applies_to_nestml_9s_output(installed):
    _, report, _ = installed
    applied = {(o["rewrite"], o["model"]) for o in report if o["applied"]}
    assert applied == {("input_buffer", NEURON), ("input_buffer", PLAIN), ("trace_lookup", NEURON),
                       ("synapse_layout", SYNAPSE), ("defaults_unit", NEURON), ("defaults_unit", PLAIN),
                       ("defaults_unit", SYNAPSE)}, report
    lookup = next(o for o in report if o["rewrite"] == "trace_lookup")
    assert "propagators only" in lookup["detail"]   # a GSL neuron: the getter also steps its integrator


def test_the_rewritten_code_is_what_each_rewrite_says(installed):
    texts, _, _ = installed
    cpp, header, synapse = texts[f"{NEURON}.cpp"], texts[f"{NEURON}.h"], texts[f"{SYNAPSE}.h"]
    # R1: one multi-channel input buffer instead of a vector of ring buffers per input kind
    assert "MultiChannelInputBuffer" in header and "std::vector< nest::RingBuffer >" not in header
    # R2: no getter recomputes every propagator of the neuron any more
    getter = cpp[cpp.index("::get_post_trace__for_stdp_synapse_nestml("):]
    getter = getter[:getter.index("\n}\n")]
    assert "recompute_internal_variables(true)" not in getter
    # R3: the synapse's timestep scratch is local, and the moved parameter's copy is gone
    assert "double __h;" not in synapse and "tau_tr_post;" not in synapse
    # the patches: set_status refuses non-finite values; every file says what was done to it
    assert "nestml_lab_require_finite" in header
    assert all(t.startswith("/*\n *  nestml-lab: rewrites") for t in texts.values())
    assert "// nestml-lab: numeric ODE solver: rk45" in cpp


def test_nestmls_output_is_kept_unchanged_beside_the_rewritten(installed):
    _, _, dest = installed
    for f in (FIXTURES / UNIT).iterdir():
        if f.suffix in (".h", ".cpp"):
            assert (dest / "nestml" / f.name).read_text() == f.read_text(), f.name
