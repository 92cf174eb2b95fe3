"""The shortcuts of generation make NESTML's code, byte for byte (but for NESTML's line that dates a file).

- An edit of parameter defaults alone is made without NESTML (codegen/defaults_only.py). Each case: a project's
  models generated once (NESTML), then every number of every parameter declaration of its neurons changed and
  generated again (reprinted, no NESTML), then the same edited project generated in a new folder with an empty
  shape index (NESTML): the two sets of files must be the same.
- NESTML's runs forked from the warm worker (codegen/zygote.py) make what runs in fresh processes make.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from nestml_lab import paths
from nestml_lab.codegen import defaults_only
from nestml_lab.codegen.generate import generate
from nestml_lab.codegen.manifest import load_manifest

_DATED = re.compile(r"^ \*  Generated from NESTML [^\n]* at time: [^\n]*$", re.M)
_REPRINTED = "defaults reprinted, without NESTML"


def _project(folder: Path, neurons: list[str], pairs: dict, synapses: dict) -> Path:
    folder.mkdir(parents=True)
    for name in neurons + list(synapses):
        shutil.copy(paths.MODELS_DIR / f"{name}.nestml", folder / f"{name}.nestml")
    lines = ["module: defaults_module", "suffix: _nestml", "neurons:", *(f"- {n}" for n in neurons), "synapses:"]
    for s, spec in synapses.items():
        lines.append(f"  {s}:")
        lines += [f"    {k}: {v}" for k, v in spec.items()]
    lines.append("pairs:" if pairs else "pairs: []")
    for n, ss in pairs.items():
        lines += [f"- neuron: {n}", f"  synapses: [{', '.join(ss)}]"]
    (folder / "module.yaml").write_text("\n".join(lines) + "\n")
    return folder


def _edit_every_default(project: Path, models: list[str], keep: tuple = ("w",)) -> list[str]:
    """Every number of every parameter declaration of the models but ``keep`` (NEST's weight, a synapse's
    parameter that co-generation moves into its neuron: NESTML runs for those): an integer + 1 or + 0.5 (a float,
    as a modeller edits 30 mV to 29.5 mV) in turn, a float x 1.25."""
    changed = []
    for name in models:
        f = project / f"{name}.nestml"
        text = f.read_text()
        _, values = defaults_only.shape(text)
        lines = text.split("\n")
        for i, line in enumerate(lines):
            m = re.match(r"^\s*([A-Za-z_]\w*)\s", line)
            if m and m.group(1) in values and m.group(1) not in keep and "=" in line:
                head, eq, rest = line.partition("=")
                body, hash_, comment = rest.partition("#")
                body = defaults_only._NUMBER.sub(
                    lambda n: (str(int(n.group(0)) + 1) if len(changed) % 2 else f"{int(n.group(0)) + 0.5}")
                    if n.group(0).isdigit() else repr(float(n.group(0)) * 1.25), body)
                lines[i] = head + eq + body + hash_ + comment
                changed.append(m.group(1))
        f.write_text("\n".join(lines))
    return changed


def _files(units: Path) -> dict[str, str]:
    out = {}
    for f in sorted(units.rglob("*")):
        if f.is_file() and f.name != "STAGES.json":
            out[str(f.relative_to(units))] = _DATED.sub(" *  Generated from NESTML (dated)", f.read_text())
    return out


CASES = {
    "izhikevich pair (numeric solver, two neurons, a co-generated synapse)":
        (["izhikevich_neuron"], {"izhikevich_neuron": ["stdp_synapse"]},
         {"stdp_synapse": {"weight_variable": "w", "post_ports": "[post_spikes]"}}),
    "iaf_psc_alpha (propagators) and tsodyks_synapse (a synapse alone)":
        (["iaf_psc_alpha_neuron"], {}, {"tsodyks_synapse": {"weight_variable": "w"}}),
}
_SLOW = {"izhikevich pair (numeric solver, two neurons, a co-generated synapse)"}


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c in _SLOW else c for c in CASES])
def test_defaults_reprinted_are_nestmls_code(case, tmp_path, monkeypatch):
    neurons, pairs, synapses = CASES[case]
    monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / "cache"))
    quiet = dict(log=lambda _: None)
    project = _project(tmp_path / "project", neurons, pairs, synapses)
    generate(load_manifest(project), project / "build" / "generated", **quiet)
    edited = _edit_every_default(project, neurons + list(synapses), keep=("w", "tau_tr_post"))
    assert len(edited) >= 8, edited

    report = generate(load_manifest(project), project / "build" / "generated", **quiet)
    assert report.stages and all(_REPRINTED in s for s in report.stages.values()), report.stages
    assert set(report.generated) == set(report.stages)
    reprinted = _files(project / "build" / "generated" / "units")

    shutil.rmtree(tmp_path / "cache")   # no earlier build to reprint: NESTML generates the edited models
    shutil.rmtree(project / "build")
    report = generate(load_manifest(project), project / "build" / "generated", **quiet)
    assert all(_REPRINTED not in s for s in report.stages.values()), report.stages
    nestml = _files(project / "build" / "generated" / "units")
    assert reprinted.keys() == nestml.keys()
    for name in nestml:
        assert reprinted[name] == nestml[name], name
    # and the edit reached the code: the table of defaults (R11) holds the new numbers
    tables = "".join(v for k, v in nestml.items() if k.endswith("_defaults.cpp"))
    assert tables


def test_an_edit_beyond_defaults_runs_nestml(tmp_path, monkeypatch):
    """A sign, a state's initial value, an equation: not defaults alone, and the build says why it ran NESTML."""
    monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / "cache"))
    project = _project(tmp_path / "project", ["iaf_psc_alpha_neuron"], {}, {})
    f = project / "iaf_psc_alpha_neuron.nestml"
    original = f.read_text()
    generate(load_manifest(project), project / "build" / "generated", log=lambda _: None)
    edits = [("V_th mV = -55 mV", "V_th mV = 55 mV"), ("I_ex pA = 0 pA ", "I_ex pA = 1 pA "),
             ("V_m' = -(V_m - E_L) / tau_m", "V_m' = -(V_m - E_L) / (2 * tau_m)")]
    for old, new in edits:
        assert old in original
        f.write_text(original.replace(old, new))
        lines = []
        report = generate(load_manifest(project), project / "build" / "generated", log=lines.append)
        assert report.generated == ["neuron-iaf_psc_alpha_neuron"]
        assert all(_REPRINTED not in s for s in report.stages.values()), (new, report.stages)
    # then a number of its parameters edited: made without NESTML, from the code of the equation just edited
    f.write_text(original.replace(*edits[-1]).replace("V_th mV = -55 mV", "V_th mV = -54.5 mV"))
    lines = []
    report = generate(load_manifest(project), project / "build" / "generated", log=lines.append)
    assert all(_REPRINTED in s for s in report.stages.values()), report.stages
    assert any("parameter defaults edited alone" in line for line in lines), lines


@pytest.mark.slow   # half a minute: two units generated twice
def test_the_warm_worker_makes_what_fresh_processes_make(tmp_path, monkeypatch):
    from nestml_lab.codegen import launch

    project = _project(tmp_path / "project", ["iaf_psc_alpha_neuron", "izhikevich_neuron"],
                       {"izhikevich_neuron": ["stdp_synapse"]},
                       {"stdp_synapse": {"weight_variable": "w", "post_ports": "[post_spikes]"}})
    made = {}
    for warm in ("1", "0"):
        monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / f"cache{warm}"))
        monkeypatch.setenv(launch.WARM_ENV, warm)
        report = generate(load_manifest(project), tmp_path / f"generated{warm}", log=lambda _: None)
        assert len(report.generated) == 2
        stages = report.stage_totals()
        made[warm] = (_files(tmp_path / f"generated{warm}" / "units"), stages)
    assert launch._Warm.proc is not None and launch._Warm.proc.poll() is None   # the warm worker ran them
    assert made["1"][0] == made["0"][0]
    # what it is for: the runs forked from it start with NESTML imported
    assert made["1"][1]["NESTML's imports and set-up"] < made["0"][1]["NESTML's imports and set-up"], made
