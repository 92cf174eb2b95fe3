"""The built module loads into NEST, every model works, and the NESTML LIF twins equal NEST's built-ins."""

import numpy as np
import pytest
import yaml

import nestml_lab
from nestml_lab import paths
from nestml_lab.catalog import manifest

pytestmark = pytest.mark.nest

# Input strong enough to make each neuron fire repeatedly (pA).
#: a constant current under which each catalog neuron fires (models/test_drive.yaml)
DC = {name: drive["dc_pA"] for name, drive in yaml.safe_load((paths.MODELS_DIR / "test_drive.yaml").read_text()).items()}


def _all_neurons():
    """(neuron, synapse or None): each neuron alone, and each pair's neuron with its first synapse.

    Names from the manifest only: collection runs before the session fixture builds the module.
    """
    m = manifest()
    return [(n, None) for n in m.neurons if n in DC] + [(p.neuron, p.synapses[0]) for p in m.pairs]


def _nest_neuron(neuron, synapse):
    return nestml_lab.neuron_model(neuron) if synapse is None else nestml_lab.pair_models(neuron, synapse)[0]


def test_install_is_idempotent_and_survives_reset(nest_kernel):
    nest = nest_kernel
    assert nestml_lab.install_module() == manifest().module  # already loaded: no second Install
    nest.ResetKernel()
    assert "iaf_psc_exp_neuron_nestml" not in nest.node_models  # ResetKernel unloads modules
    nestml_lab.install_module()
    assert "iaf_psc_exp_neuron_nestml" in nest.node_models


@pytest.mark.parametrize("neuron,synapse", _all_neurons(), ids=lambda x: x or "alone")
def test_every_neuron_spikes_under_dc_input(nest_kernel, neuron, synapse):
    nest = nest_kernel
    model = _nest_neuron(neuron, synapse)
    n = nest.Create(model, params={"I_e": DC[neuron]})
    sr = nest.Create("spike_recorder")
    nest.Connect(n, sr)
    nest.Simulate(500.0)
    assert sr.n_events >= 5, f"{model} fired {sr.n_events} spikes under {DC[neuron]} pA"


def _all_synapses():
    """(neuron, synapse, paired): every synapse alone on iaf_psc_exp_neuron, and in every pair (manifest names)."""
    m = manifest()
    out = [("iaf_psc_exp_neuron", s.name, False) for s in m.synapses.values() if not s.needs_partner]
    out += [(p.neuron, s, True) for p in m.pairs for s in p.synapses]
    return out


@pytest.mark.parametrize("neuron,synapse,paired", _all_synapses(),
                         ids=lambda x: x if isinstance(x, str) else ("pair" if x else "alone"))
def test_a_spike_passes_through_every_synapse(nest_kernel, neuron, synapse, paired):
    """One pre spike reaches the target: it departs from an identical neuron without input, only after arrival."""
    nest = nest_kernel
    if paired:
        neuron_model, synapse_model = nestml_lab.pair_models(neuron, synapse)
    else:
        neuron_model, synapse_model = nestml_lab.neuron_model(neuron), nestml_lab.synapse_model(synapse)
    pre = nest.Create("spike_generator", params={"spike_times": [10.0]})
    target, control = nest.Create(neuron_model, 2)
    if manifest().synapses[synapse].vt_ports:   # a third-factor synapse needs its volume transmitter
        nest.SetDefaults(synapse_model, {"volume_transmitter": nest.Create("volume_transmitter")})
    nest.Connect(pre, target, syn_spec={"synapse_model": synapse_model, "weight": 5.0, "delay": 1.0})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 0.1})
    nest.Connect(mm, target + control)
    nest.Simulate(40.0)
    ev = mm.events
    v_t, v_c = (ev["V_m"][ev["senders"] == n.global_id] for n in (target, control))
    t = ev["times"][ev["senders"] == target.global_id]
    diff = v_t - v_c
    assert np.all(diff[t < 11.0] == 0.0), "the target moved before the spike arrived (at 11 ms)"
    assert np.abs(diff[t >= 11.0]).max() > 1e-3, f"no response to a spike through {synapse_model}"


@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_alpha"])
def test_nestml_lif_reproduces_nest_builtin(nest_kernel, model):
    """Same parameters, same spike and DC input: V_m within 1e-9 mV at every step, identical spike times."""
    nest = nest_kernel
    rng = np.random.default_rng(7)
    params = {"I_e": 350.0, "tau_syn_ex": 1.5, "tau_syn_in": 3.0, "t_ref": 2.0, "tau_m": 12.0, "C_m": 200.0}
    ours = nest.Create(nestml_lab.neuron_model(model + "_neuron"), params=params)
    theirs = nest.Create(model, params=params)
    exc = np.round(np.sort(rng.uniform(1, 995, 800)), 1)
    inh = np.round(np.sort(rng.uniform(1, 995, 300)), 1)
    for times, weight in ((np.unique(exc), 80.0), (np.unique(inh), -120.0)):
        sg = nest.Create("spike_generator", params={"spike_times": times})
        nest.Connect(sg, ours, syn_spec={"weight": weight, "delay": 1.0})
        nest.Connect(sg, theirs, syn_spec={"weight": weight, "delay": 1.0})
    recorders = []
    for n in (ours, theirs):
        mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 0.1})
        sr = nest.Create("spike_recorder")
        nest.Connect(mm, n)
        nest.Connect(n, sr)
        recorders.append((mm, sr))
    nest.Simulate(1000.0)
    (mm_a, sr_a), (mm_b, sr_b) = recorders
    assert sr_b.n_events > 10, "the input should make the built-in fire"
    np.testing.assert_array_equal(sr_a.events["times"], sr_b.events["times"])
    dv = np.abs(mm_a.events["V_m"] - mm_b.events["V_m"])
    assert dv.max() <= 1e-9, f"max |dV| = {dv.max():.3g} mV"


def test_moved_synapse_parameter_is_refused_on_the_synapse_and_works_on_the_neuron(nest_kernel):
    nest = nest_kernel
    neuron, synapse = nestml_lab.pair_models("iaf_psc_exp_neuron", "stdp_synapse")
    moved = nestml_lab.moved_parameter("stdp_synapse", "tau_tr_post")
    with pytest.raises(nest.NESTError, match=moved):
        nest.SetDefaults(synapse, {"tau_tr_post": 33.0})
    pre, post = nest.Create("parrot_neuron"), nest.Create(neuron)
    with pytest.raises(nest.NESTError, match="tau_tr_post"):
        nest.Connect(pre, post, syn_spec={"synapse_model": synapse, "tau_tr_post": 33.0})
    # NEST itself refuses it in a syn_spec ("Unaccessed elements in syn_spec: tau_tr_post"): the synapse no
    # longer lists it, so NEST does not pass it on.
    nest.SetDefaults(neuron, {moved: 33.0})
    assert nest.GetDefaults(neuron)[moved] == 33.0
    assert "tau_tr_post" not in nest.GetDefaults(synapse)


def test_a_cogenerated_synapse_on_another_neuron_raises_instead_of_exiting(nest_kernel):
    """NESTML's generated check called exit(1): the Python process (a Jupyter kernel) died."""
    nest = nest_kernel
    _, synapse = nestml_lab.pair_models("iaf_psc_exp_neuron", "stdp_synapse")
    pre, other = nest.Create("parrot_neuron"), nest.Create("iaf_psc_exp")
    with pytest.raises(nest.NESTError, match=r"connects only to .* not to iaf_psc_exp"):
        nest.Connect(pre, other, syn_spec={"synapse_model": synapse})
    assert nest.GetKernelStatus("num_connections") == 0   # and the process is still here


def test_tau_minus_on_a_cogenerated_neuron_is_refused_naming_the_parameter_that_counts(nest_kernel):
    nest = nest_kernel
    neuron, _ = nestml_lab.pair_models("iaf_psc_exp_neuron", "stdp_synapse")
    moved = nestml_lab.moved_parameter("stdp_synapse", "tau_tr_post")
    n = nest.Create(neuron)
    with pytest.raises(nest.NESTError, match=rf"tau_minus is not used .*{moved}"):
        n.set(tau_minus=33.0)
    with pytest.raises(nest.NESTError, match="tau_minus is not used"):
        nest.Create(neuron, params={"tau_minus": 33.0})
    n.set(tau_minus=n.get("tau_minus"))   # the value it has (a get/set round trip) stays allowed
    n.set({moved: 33.0})
    assert n.get(moved) == 33.0


def test_gcc_accepts_the_machines_precompiled_nest_headers_with_the_builds_own_flags(built_module):
    """The catalog's units include pch/nest_pch.h first; the .gch the build linked beside it is the machine's for
    exactly its flags, and GCC uses it (-H marks a used .gch with '!'): a refused one would only be slower."""
    import subprocess

    from nestml_lab import cmake
    from nestml_lab.cmake import pch
    from nestml_lab.layout import Project

    build = Project.open(paths.MODELS_DIR).target_dir(cmake.running_nest()) / "cmake"
    cmd = pch.command(build)
    linked = build / "pch" / "nest_pch.h.gch"
    assert linked.is_symlink() and linked.readlink().parent.name == pch.key(cmd)
    pch.link(build, pch.ensure(build, print))   # made again if other builds' flags have pruned it since
    unit = paths.GENERATED_DIR / "module" / "registration.cpp"
    done = subprocess.run([*cmd[:-2], "-include", str(build / "pch" / "nest_pch.h"), "-H", "-fsyntax-only",
                           str(unit)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    first = done.stderr.splitlines()[0]
    assert first.startswith("! ") and first.endswith("nest_pch.h.gch"), first


def _functions(obj) -> dict[str, list[str]]:
    """Each function's instructions (addresses and the file's name left out): the code, not its layout."""
    import re
    import subprocess

    out, name = {}, ""
    for line in subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(obj)], capture_output=True, text=True,
                               check=True).stdout.splitlines()[2:]:
        head = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if head:
            name = head.group(1)
            out.setdefault(name, [])
        elif line.strip() and not line.startswith("Disassembly of section"):
            out[name].append(re.sub(r"[0-9a-f]+ <[^>]*>|#.*", "", re.sub(r"^\s*[0-9a-f]+:\s*", "", line)))
    return out


def _weak(obj) -> set[str]:
    import subprocess

    lines = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout.splitlines()
    return {ln.split()[-1] for ln in lines if ln.split()[-2:-1] and ln.split()[-2] in ("W", "V", "w", "v")}


@pytest.mark.slow
def test_the_precompiled_headers_change_no_instruction(built_module, tmp_path):
    """A neuron's unit and the registration compiled with and without the .gch: the same instructions in every
    function both have; what only one has is an inline function of NEST's headers emitted once more (a weak copy
    the linker merges with the others, or a local clone of one), so no result can change."""
    import subprocess

    from nestml_lab import cmake
    from nestml_lab.cmake import pch
    from nestml_lab.layout import Project

    build = Project.open(paths.MODELS_DIR).target_dir(cmake.running_nest()) / "cmake"
    gch = pch.ensure(build, print)
    assert gch is not None and gch.is_file()
    (tmp_path / "with").mkdir()
    (tmp_path / "with" / "nest_pch.h.gch").symlink_to(gch)
    (tmp_path / "with" / "nest_pch.h").write_text(pch.HEADER.read_text())
    neuron = next((paths.GENERATED_DIR / "units").glob("neuron-iaf_psc_alpha_neuron/*_neuron_nestml.cpp"))
    for unit in (neuron, paths.GENERATED_DIR / "module" / "registration.cpp"):
        code, weak = {}, set()
        for how in ("with", "without"):
            obj = tmp_path / f"{unit.stem}-{how}.o"
            header = ["-include", str(tmp_path / "with" / "nest_pch.h")] if how == "with" else []
            subprocess.run([*pch.command(build)[:-2], f"-I{unit.parent}", *header, "-c", str(unit), "-o", str(obj)],
                           check=True)
            code[how], weak = _functions(obj), weak | _weak(obj)
        both = code["with"].keys() & code["without"].keys()
        assert len(both) > 20 and all(code["with"][f] == code["without"][f] for f in both), unit.name
        extra = code["with"].keys() ^ code["without"].keys()
        assert all(f in weak or "." in f for f in extra), (unit.name, sorted(extra - weak))
