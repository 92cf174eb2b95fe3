"""NESTML's shipped neuron library as a project, each model named with its NEST built-in twin.

``nestml-lab validate --nestml-library`` (``make validate-library``) copies the installed NESTML package's own
model files into a scratch folder (nothing of them is committed), writes the ``module.yaml`` below with a
``twins:`` entry per model that has a NEST built-in, builds the module and runs the twins' comparison on it: the
table of which of NESTML's models match NEST's, and how closely (results/validate_library/conformance.md).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from nestml_lab.codegen import manifest as manifests

#: NESTML's names for what NEST calls otherwise, in most of its library
COMMON_MAP = {"E_exc": "E_ex", "E_inh": "E_in", "refr_T": "t_ref", "tau_syn_exc": "tau_syn_ex",
              "tau_syn_inh": "tau_syn_in", "I_syn_exc": "I_syn_ex", "I_syn_inh": "I_syn_in"}

#: NESTML library neuron -> (NEST twin, names of ours -> the twin's beyond COMMON_MAP, other twin options)
LIBRARY_TWINS = {
    "aeif_cond_alpha_neuron": ("aeif_cond_alpha", {}, {}),
    "aeif_cond_alpha_alt_neuron": ("aeif_cond_alpha", {}, {}),
    "aeif_cond_exp_neuron": ("aeif_cond_exp", {}, {}),
    "aeif_psc_alpha_neuron": ("aeif_psc_alpha", {"tau_exc": "tau_syn_ex", "tau_inh": "tau_syn_in"}, {}),
    "aeif_psc_exp_neuron": ("aeif_psc_exp", {"tau_exc": "tau_syn_ex", "tau_inh": "tau_syn_in"}, {}),
    "hh_cond_exp_traub_neuron": ("hh_cond_exp_traub", {"Act_h": "Inact_h", "Inact_n": "Act_n"}, {}),
    "hh_psc_alpha_neuron": ("hh_psc_alpha", {"Act_h": "Inact_h", "Inact_n": "Act_n"}, {}),
    "iaf_chxk_2008_neuron": ("iaf_chxk_2008", {}, {}),
    "iaf_cond_alpha_neuron": ("iaf_cond_alpha", {}, {}),
    "iaf_cond_beta_neuron": ("iaf_cond_beta", {"tau_syn_rise_E": "tau_rise_ex", "tau_syn_decay_E": "tau_decay_ex",
                                               "tau_syn_rise_I": "tau_rise_in", "tau_syn_decay_I": "tau_decay_in"}, {}),
    "iaf_cond_exp_neuron": ("iaf_cond_exp", {}, {}),
    "iaf_cond_exp_sfa_rr_neuron": ("iaf_cond_exp_sfa_rr", {}, {}),
    "iaf_psc_alpha_neuron": ("iaf_psc_alpha", {}, {}),
    "iaf_psc_delta_neuron": ("iaf_psc_delta", {}, {}),
    "iaf_psc_delta_fixed_timestep_neuron": ("iaf_psc_delta", {}, {}),
    "iaf_psc_exp_neuron": ("iaf_psc_exp", {}, {}),
    # NESTML's V_m, V_th, V_reset are relative to E_L; NEST's absolute
    "iaf_psc_exp_htum_neuron": ("iaf_psc_exp_htum", {"V_m": "V_m - E_L", "V_th": "V_th - E_L",
                                                     "V_reset": "V_reset - E_L"}, {}),
    "ignore_and_fire_neuron": ("ignore_and_fire", {"firing_rate": "rate"}, {}),
    # its spike input moves V_m by the weight in mV; its rheobase is a few pA (through 1 GOhm)
    "izhikevich_neuron": ("izhikevich", {}, {"current_pA": 5.0}),
    # NESTML's omega (resting threshold) is relative to E_L; NEST's absolute
    "mat2_psc_exp_neuron": ("mat2_psc_exp", {"omega": "omega - E_L"}, {}),
}


def library_folder() -> Path:
    """The installed NESTML package's folder of neuron models."""
    import pynestml

    root = Path(pynestml.__file__).resolve().parent
    for candidate in (root / "models" / "neurons", *(p / "models" / "neurons" for p in root.parents[:4])):
        if candidate.is_dir() and any(candidate.glob("*.nestml")):
            return candidate
    raise FileNotFoundError(f"NESTML's model library (models/neurons/*.nestml) not found near {root}")


def make_project(folder: Path | str, models: list[str] | None = None) -> tuple[Path, list[str]]:
    """Copy NESTML's library neurons with a NEST twin into ``folder`` and write its module.yaml; return the
    manifest's path and the library's neurons without a twin.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    source = library_folder()
    shipped = sorted(f.stem for f in source.glob("*_neuron.nestml"))
    chosen = [m for m in (models or LIBRARY_TWINS) if m in shipped]
    missing = sorted(set(models or LIBRARY_TWINS) - set(shipped))
    if missing:
        raise FileNotFoundError(f"not in NESTML's library ({source}): {', '.join(missing)}")
    for m in chosen:
        shutil.copy(source / f"{m}.nestml", folder / f"{m}.nestml")
    twins = {}
    for m in chosen:
        twin, extra, options = LIBRARY_TWINS[m]
        twins[m] = {"twin": f"nest:{twin}", "map": {**COMMON_MAP, **extra}, **options}
    # NESTML's code as it generates it: the toolkit's speed rewrites are off
    manifest = manifests.derive(path=folder / manifests.MANIFEST_NAME, module="nestml_library_module",
                                suffix="_nestml_library", rewrites="none", neurons=chosen, twins=twins)
    path = manifests.write(manifest, folder, header="NESTML's library neurons with their NEST twins (written by "
                                                    "nestml_lab.library)")
    return path, [m for m in shipped if m not in LIBRARY_TWINS]


def run(work: Path | str = "build/nestml_library", out: Path | str = "results/validate_library",
        models: list[str] | None = None, log=print) -> tuple[list, dict[str, Path]]:
    """Build NESTML's library neurons that have a NEST twin in ``work`` and run each against its twin; write the
    table into ``out``; return the comparisons and the files written (``nestml-lab validate --nestml-library``).
    """
    from nestml_lab.conformance import twins
    from nestml_lab.project import make_module

    start = time.time()
    manifest, without = make_project(work, models)
    log(f"[library] {len(models or LIBRARY_TWINS)} NESTML library neurons with a NEST twin in {work}; building")
    make_module(manifest.parent, log=log)
    results = twins.validate(manifest.parent)
    files = twins.save(results, out, without)
    log(twins.markdown(results, without))
    log(f"[library] done in {time.time() - start:.0f} s: {', '.join(str(p) for p in files.values())}")
    return results, files
