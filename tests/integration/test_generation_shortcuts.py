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
    "iaf_psc_exp (propagators) and tsodyks_synapse (a synapse alone)":
        (["iaf_psc_exp_neuron"], {}, {"tsodyks_synapse": {"weight_variable": "w"}}),
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


def test_what_is_not_defaults_alone_runs_nestml_and_says_why(tmp_path, monkeypatch):
    """An earlier build of the same shape is reprinted only where NESTML's printing of the new number is known and
    nothing else holds it: a float edited into an integer, NEST's weight run NESTML, and the build says why; an
    equation edited is another shape."""
    monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / "cache"))
    project = _project(tmp_path / "project", ["iaf_psc_exp_neuron"], {}, {"tsodyks_synapse": {"weight_variable": "w"}})
    neuron, synapse = project / "iaf_psc_exp_neuron.nestml", project / "tsodyks_synapse.nestml"

    def run(edits: dict) -> tuple:
        for f, (old, new) in edits.items():
            assert old in f.read_text(), old
            f.write_text(f.read_text().replace(old, new))
        lines = []
        report = generate(load_manifest(project), project / "build" / "generated", log=lines.append)
        return {uid: _REPRINTED in s for uid, s in report.stages.items()}, lines

    run({})
    reprinted, _ = run({neuron: ("V_th mV = -55 mV", "V_th mV = -54.5 mV"),
                        synapse: ("tau_psc ms = 3 ms", "tau_psc ms = 3.5 ms")})   # integers into floats
    assert reprinted == {"neuron-iaf_psc_exp_neuron": True, "synapse-tsodyks_synapse": True}
    reprinted, lines = run({neuron: ("V_th mV = -54.5 mV", "V_th mV = -54 mV"), synapse: ("w real = 1 ", "w real = 2 ")})
    assert reprinted == {"neuron-iaf_psc_exp_neuron": False, "synapse-tsodyks_synapse": False}
    why = [line for line in lines if "only defaults changed, yet NESTML runs" in line]
    assert any("V_th: NESTML printed 54.5 as 54.5; how it prints 54 there is not known here" in line
               for line in why), why
    assert any("tsodyks_synapse.w: NEST's weight" in line for line in why), why
    equation = "V_m' = -(V_m - E_L) / tau_m"
    reprinted, lines = run({neuron: (equation, equation.replace("/ tau_m", "/ (2 * tau_m)"))})
    assert reprinted == {"neuron-iaf_psc_exp_neuron": False}
    assert not any("only defaults changed" in line for line in lines)


def test_a_number_edited_back_is_reprinted_from_the_build_that_had_it(tmp_path, monkeypatch):
    """A notebook cell edited 30 -> 29.5 -> 30: the second edit, a float into an integer, cannot be reprinted from
    the build of 29.5, and is from the first build (every cell is a folder of its own)."""
    monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / "cache"))
    first = _project(tmp_path / "first", ["iaf_psc_exp_neuron"], {}, {})
    generate(load_manifest(first), first / "build" / "generated", log=lambda _: None)
    second = tmp_path / "second"
    shutil.copytree(first, second, ignore=shutil.ignore_patterns("build"))
    for value, folder in (("-54.5", "second"), ("-55", "third")):
        project = tmp_path / folder
        if not project.exists():
            shutil.copytree(second, project, ignore=shutil.ignore_patterns("build"))
        f = project / "iaf_psc_exp_neuron.nestml"
        f.write_text(re.sub(r"V_th mV = -[\d.]+ mV", f"V_th mV = {value} mV", f.read_text()))
        report = generate(load_manifest(project), project / "build" / "generated", log=lambda _: None)
        assert all(_REPRINTED in s for s in report.stages.values()), (value, report.stages)
    first_code = _files(first / "build" / "generated" / "units")
    third_code = _files(tmp_path / "third" / "build" / "generated" / "units")
    assert {k: v for k, v in third_code.items() if not k.endswith("SHAPE.json")} == \
        {k: v for k, v in first_code.items() if not k.endswith("SHAPE.json")}


@pytest.mark.slow   # half a minute: two units generated twice
def test_the_warm_worker_makes_what_fresh_processes_make(tmp_path, monkeypatch):
    from nestml_lab.codegen import launch

    project = _project(tmp_path / "project", ["iaf_psc_exp_neuron", "izhikevich_neuron"],
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
