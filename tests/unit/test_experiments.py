"""The experiment contract: the registry drives the command line and the Makefile; a new experiment is one file."""

import subprocess
import textwrap

import pytest

from nestml_lab import cli, paths
from nestml_lab.experiments.shared import contract

EXPECTED = {"adex-network", "compartmental", "firing-patterns", "gap-junctions", "pairing-frequency", "pd14", "seed001", "short-term", "song2000", "stdp-window"}


def test_every_experiment_module_is_registered_under_its_file_name():
    found = contract.registry()
    assert set(found) == EXPECTED
    for name, exp in found.items():
        assert exp.module.rsplit(".", 1)[-1] == name.replace("-", "_")


def test_the_makefile_has_a_target_per_registered_experiment():
    out = subprocess.run(["make", "-s", "experiments"], cwd=paths.REPO_ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    assert set(out) == set(contract.registry())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_option_of_every_experiment_shows_its_default_and_unit(name, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([name, "--help"])
    assert done.value.code == 0
    text = "".join(capsys.readouterr().out.split())   # argparse wraps lines (also at a hyphen)
    for par in contract.parameters(contract.registry()[name].params):
        if not par.cli:
            continue
        assert par.option() in text, par
        shown = "".join(f"(default: {par.shown_default()})".split())
        assert shown in text, (par.name, shown)
        if par.unit and par.unit != "1" and par.kind in ("int", "float") and par.default is not None:
            assert par.shown_default().endswith(par.unit), par


def test_a_parameter_without_unit_and_help_is_refused():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Bare:
        n: int = 3

    with pytest.raises(TypeError, match=r"Bare\.n: declare it with param"):
        contract.parameters(Bare)


TOY = textwrap.dedent('''
    """A toy experiment: the one file a new experiment needs."""
    from dataclasses import dataclass
    from pathlib import Path

    from nestml_lab.experiments.shared.contract import Experiment, param


    @dataclass(frozen=True)
    class ToyParams:
        n: int = param(4, "how many squares")
        scale_ms: float = param(2.5, "a length", "ms")
        extra: dict = param({"a": 1.0}, "NAME=VALUE pairs", flag="--extra")


    def run(p, progress=None):
        return {"squares": [i * i * p.scale_ms for i in range(p.n)], "extra": p.extra}


    def save(result, folder):
        Path(folder).mkdir(parents=True, exist_ok=True)
        path = Path(folder) / "toy.txt"
        path.write_text(repr(result))
        return {"txt": path}


    def plot(result, folder):
        path = Path(folder) / "toy.png"
        path.write_bytes(b"not really a figure")
        return path


    def summary(result):
        return [f"{len(result['squares'])} squares"]


    EXPERIMENT = Experiment(ToyParams, run, save, plot, summary, help="squares, for the contract's test")
''')


def test_a_new_experiment_is_one_file(tmp_path, monkeypatch, capsys):
    """A module dropped into the experiments package becomes a command with options and --help."""
    from nestml_lab import experiments

    folder = tmp_path / "more_experiments"
    folder.mkdir()
    (folder / "toy_squares.py").write_text(TOY)
    monkeypatch.setattr(experiments, "__path__", [*experiments.__path__, str(folder)])
    assert "toy-squares" in contract.registry()
    assert cli.main(["toy-squares", "--n", "3", "--scale-ms", "1", "--extra", "b=2", "--out",
                     str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "[toy-squares] 3 squares" in out and "[toy-squares] done in" in out
    written = (tmp_path / "out" / "toy.txt").read_text()
    assert "[0.0, 1.0, 4.0]" in written and "'a': 1.0, 'b': 2.0" in written   # the default set, updated
    with pytest.raises(SystemExit):
        cli.main(["toy-squares", "--help"])
    assert "a length (default: 2.5 ms)" in " ".join(capsys.readouterr().out.split())


def test_a_wrong_parameter_value_is_one_line_on_stderr(capsys, tmp_path):
    assert cli.main(["pd14", "--scale", "2", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "scale must be in (0, 1]" in err and "Traceback" not in err
