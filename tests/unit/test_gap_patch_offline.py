"""The gap-junction patches (codegen/edits/fixes.py, the fix gap_junctions) on NESTML 9.0.0's committed raw output of the catalog's
hh_psc_alpha_gap_neuron, as a module build runs them, without NESTML, NEST or a compiler."""

import re
import shutil
from pathlib import Path

import pytest

from nestml_lab import paths
from nestml_lab.codegen import generate
from nestml_lab.codegen.edits import fixes
from nestml_lab.codegen.errors import CodegenError
from nestml_lab.codegen.manifest import load_manifest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nestml9_raw"
UNIT = "neuron-hh_psc_alpha_gap_neuron"
NEURON = "hh_psc_alpha_gap_neuron_nestml"


def _raw() -> str:
    return (FIXTURES / UNIT / f"{NEURON}.cpp").read_text()


def _update(source: str) -> str:
    start = source.index(f"bool {NEURON}::update_(")
    return source[start:source.index("return wfr_tol_exceeded;", start)]


def test_the_gap_junction_fixes_apply_to_nestml_9s_output():
    raw = _raw()
    assert "set_node_uses_wfr" not in raw   # NESTML 9.0.0: NEST never iterates its gap neurons
    text, missing = fixes.gap_junction_neuron(raw, NEURON)
    assert missing == []
    assert text.count("set_node_uses_wfr( nest::kernel().simulation_manager.use_wfr() );") == 2   # both constructors
    assert "gap_junction_step = 0.0;" not in raw and text.count("gap_junction_step = 0.0;") == 2
    update = _update(text)
    assert update.count(".get_value_wfr_update(lag) : ") == 2    # spikes and their flags stay for the real update
    send = update.index("nest::kernel().event_delivery_manager.send(*this, se, lag);")
    assert "if ( not called_from_wfr_update )" in update[send - 300:send]
    assert "? __time : node.gap_junction_step )" in text          # GSL's own time inside the step
    assert "gap_junction_step = B_.__step;" not in update
    # the continuous inputs (I_stim, I_gap) are read once per step, not once per port: a second reading found
    # the first one's emptied buffer, and a step_current_generator never reached the neuron
    assert raw.count(fixes._CONTINUOUS_READ) == 2 and update.count(fixes._CONTINUOUS_READ) == 1
    assert fixes.gap_junction_neuron(text, NEURON) == (text, [])  # once only


@pytest.mark.parametrize("damage,says", [
    (lambda s: s.replace("gap_junction_step = B_.__step;", "gap_junction_step = B_.__step * 1;"),
     "the time of its gap current"),
    (lambda s: re.sub(r"get_spike_inputs_\(\)\[i\]\.get_value\(lag\)", "get_spike_inputs_()[i].get(lag)", s),
     "spike-buffer reads"),
    (lambda s: s.replace(f"{NEURON}::{NEURON}():", f"{NEURON}::{NEURON}() :"), "two constructors"),
])
def test_gap_junction_code_unlike_nestml_9s_is_refused_by_name(damage, says):
    _, missing = fixes.gap_junction_neuron(damage(_raw()), NEURON)
    assert any(says in m for m in missing), missing


def test_a_build_stops_naming_the_neuron_when_the_gap_code_is_not_recognised(tmp_path):
    manifest = load_manifest(paths.MODELS_DIR)
    unit = next(u for u in generate.plan_units(manifest, "3.10.0") if u.uid == UNIT)
    src = tmp_path / "nestml_out"
    shutil.copytree(FIXTURES / UNIT, src)
    cpp = src / f"{NEURON}.cpp"
    cpp.write_text(cpp.read_text().replace("gap_junction_step = B_.__step;", "gap_junction_step = B_.__step * 1;"))
    with pytest.raises(CodegenError, match=f"the fix gap_junctions .* did not find what it expects in {NEURON}: "
                                           r"the gap-junction code \(the time of its gap current.*NESTML 9.0.0's code"):
        generate._install_unit(unit, manifest, src, tmp_path / UNIT, key="test", nestml_key="raw")
    assert not (tmp_path / UNIT).exists() and not (tmp_path / f"{UNIT}.new").exists()
