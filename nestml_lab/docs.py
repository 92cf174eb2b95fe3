"""Build the documentation site: the pages in docs/, plus a page per experiment and per model of a project.

    python -m nestml_lab.docs [--out site]                 # make docs: the catalog's models
    nestml-lab docs my_models --out my_models/site         # the same site with a project's models

The experiment pages come from the registry (each parameter's default, unit and help, as
``--help`` shows them); the model pages from the header comment and the parameter blocks of
the ``.nestml`` files. Both are written into a scratch copy of docs/ (nothing generated is
committed), which MkDocs builds with ``--strict``: a broken link or a docstring the API
pages cannot read is an error.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nestml_lab import paths

DOCS = paths.REPO_ROOT / "docs"


def header_comment(source: str) -> list[str]:
    """The ``#`` comment lines before ``model``/``neuron``/``synapse``, without the ``# ``."""
    lines = []
    for line in source.splitlines():
        if line.startswith("#"):
            lines.append(line[2:] if line.startswith("# ") else line[1:])
        elif line.strip():
            break
    return lines


def comment_to_markdown(lines: list[str]) -> str:
    """NESTML's header conventions to Markdown: ``Title`` over ``+++``/``===``/``---`` becomes a heading,
    indented lines become code blocks.
    """
    out, i, code = [], 0, False
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and re.fullmatch(r"[+=\-~^]{3,}", nxt.strip()):
            out += ["", f"### {line.strip()}", ""]
            i += 2
            continue
        indented = line.startswith("  ") and line.strip()
        if indented and not code:
            out += ["", "```"]
            code = True
        elif not indented and code and line.strip():
            out += ["```", ""]
            code = False
        out.append(line)
        i += 1
    if code:
        out.append("```")
    return "\n".join(out).strip() + "\n"


_DECL = re.compile(r"^\s+(\w+)\s+([\w\[\]/*.\s]+?)\s*=\s*(.+?)\s*(?:#\s*(.*))?$")


def declarations(source: str, block: str) -> list[tuple[str, str, str, str]]:
    """``(name, type, value, comment)`` of each line in a model's ``parameters:`` or ``state:`` block."""
    rows, inside, indent = [], False, 0
    for line in source.splitlines():
        if re.match(rf"^\s+{block}:\s*(#.*)?$", line):
            inside, indent = True, len(line) - len(line.lstrip())
            continue
        if inside:
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                inside = False
                continue
            m = _DECL.match(line)
            if m and not line.strip().startswith("#"):
                rows.append((m.group(1), m.group(2).strip(), m.group(3).strip(), (m.group(4) or "").strip()))
    return rows


def escape(text: str) -> str:
    """Markdown text with ``<`` and ``>`` outside code spans written as entities (``nest:<name>`` would
    otherwise vanish as an unknown HTML tag).
    """
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(part if part.startswith("`") else part.replace("<", "&lt;").replace(">", "&gt;")
                   for part in parts)


def _cell(text: str) -> str:
    return escape(text).replace("|", "\\|")


def _code(text: str) -> str:
    """A table cell's code span (``|`` escaped, as tables need)."""
    return text.replace("|", "\\|")


def model_page(path: Path, folder: str = "models") -> str:
    """The documentation page of one model: its header comment, parameters, state and ports."""
    source = path.read_text()
    kind = "synapse" if re.search(r"^model\s+\w*synapse\w*\s*:", source, re.M) or path.stem.endswith("_synapse") \
        else "neuron"
    head = header_comment(source)
    title = head[0] if head else path.stem
    page = [f"# {path.stem}", "", f"*{kind}*, `{folder}/{path.name}`" + (f": {_cell(title.split(' - ', 1)[-1])}"
                                                                        if " - " in title else ""), ""]
    page.append(escape(comment_to_markdown(head[1:])) if len(head) > 1 else "")
    for block, label in (("parameters", "Parameters"), ("state", "State variables")):
        rows = declarations(source, block)
        if rows:
            page += [f"## {label}", "", "| name | type | default | meaning |", "|---|---|---|---|"]
            page += [f"| `{n}` | {_cell(t)} | `{_code(v)}` | {_cell(c)} |" for n, t, v, c in rows]
            page.append("")
    return "\n".join(page)


def experiment_page(exp) -> str:
    """The documentation page of one experiment: what it does and every parameter with default and unit."""
    from nestml_lab.experiments.shared.contract import parameters

    mod = sys.modules[exp.module]
    page = [f"# {exp.name}", "", exp.help[0].upper() + exp.help[1:] + ".", "",
            f"    nestml-lab {exp.name} --out results/{exp.folder}     # or: make {exp.name}", "",
            escape((mod.__doc__ or "").strip()), "",
            f"## Parameters (`{exp.params.__module__}.{exp.params.__name__}`)", "",
            "The command-line option and the Python field of each parameter: "
            f"`{exp.params.__name__}({', '.join(f'{p.name}=...' for p in parameters(exp.params)[:2])})`.", "",
            "| option | Python field | default | meaning |", "|---|---|---|---|"]
    for par in parameters(exp.params):
        option = f"`{par.option()}`" if par.cli else "(Python only)"
        page.append(f"| {option} | `{par.name}` | {_cell(par.shown_default())} | {_cell(par.help)} |")
    page += ["", f"In Python: `{exp.module}.run({exp.params.__name__}(...))` returns the result; `save`, `plot` "
             "and `summary` take it (see [the experiment contract](../experiments.md)).", ""]
    return "\n".join(page)


def project_page(models: Path) -> str:
    """The index of a project's models: module, suffix, and what is paired with what (from module.yaml)."""
    from nestml_lab.codegen.manifest import load_manifest

    m = load_manifest(models)
    page = [f"# {m.module}", "", f"The project in `{models}`: NEST names end in `{m.suffix}`. Build it with "
            f"`nestml-lab module {models}`, load it with `nestml_lab.load(...)`; validate a synapse with "
            "[the tutorial](../own_models.md).", "", "| model | kind | paired with |", "|---|---|---|"]
    partners: dict[str, list[str]] = {}
    for pair in m.pairs:
        partners.setdefault(pair.neuron, []).extend(pair.synapses)
        for syn in pair.synapses:
            partners.setdefault(syn, []).append(pair.neuron)
    for name in [*m.neurons, *(p.neuron for p in m.pairs if p.neuron not in m.neurons), *m.synapses]:
        kind = "synapse" if name in m.synapses else "neuron"
        page.append(f"| [{name}]({name}.md) | {kind} | {', '.join(sorted(set(partners.get(name, [])))) or '-'} |")
    return "\n".join(page) + "\n"


def validation_page(docs: Path) -> str:
    """docs/validation.md with the firing patterns' criteria (from their data) and, where this checkout has
    run them, the figures of ``make firing-patterns`` and the table of ``make validate-library``.
    """
    from nestml_lab.experiments.shared.patterns_data import IZHIKEVICH_2004, NAUD_2008

    rows = ["| panel | a, b, c, d | step (ms) | criterion checked |", "|---|---|---|---|"]
    rows += [f"| ({p.key}) {p.name} | {p.a:g}, {p.b:g}, {p.c:g}, {p.d:g} | {p.tau:g} | {_cell(p.criterion)} |"
             for p in IZHIKEVICH_2004]
    rows += ["", "| Naud pattern | C, g_L, E_L, V_T, Delta_T, a, tau_w, b, V_r, I | published class |", "|---|---|---|"]
    rows += [f"| {name} | {', '.join(f'{v:g}' for v in values)} | {' '.join(x for x in cls if x)} |"
             for name, (values, cls) in NAUD_2008.items()]
    results = paths.REPO_ROOT / "results"
    figures = [f for f in ("izhikevich_2004.png", "naud_2008.png") if (results / "firing_patterns" / f).is_file()]
    for f in figures:
        (docs / "validation").mkdir(exist_ok=True)
        shutil.copy(results / "firing_patterns" / f, docs / "validation" / f)
    rows += [""] + ([f"![{f[:-4]}](validation/{f})" for f in figures] or
                    ["(The figures appear here once `make firing-patterns` has run in this checkout.)"])
    table = results / "validate_library" / "conformance.md"
    conformance = (f"This checkout's last run of `make validate-library`:\n\n{table.read_text()}"
                   if table.is_file() else "")
    page = (docs / "validation.md").read_text()
    return page.replace("@PATTERNS@", "\n".join(rows)).replace("@CONFORMANCE@", conformance)


def sweeps_page(docs: Path) -> str:
    """docs/sweeps.md with the example sweep's figures, where this checkout has run ``make sweep-example``."""
    figures = paths.REPO_ROOT / "results" / "sweeps" / "stdp_window" / "figures"
    shown = [f for f in ("ltd_area.png", "dw_max.png") if (figures / f).is_file()]
    for f in shown:
        (docs / "sweeps").mkdir(exist_ok=True)
        shutil.copy(figures / f, docs / "sweeps" / f)
    text = "\n\n".join(f"![{f[:-4]} over the grid](sweeps/{f})" for f in shown) or \
        "(The example's figures appear here once `make sweep-example` has run in this checkout.)"
    return (docs / "sweeps.md").read_text().replace("@FIGURES@", text)


def prepare(work: Path, models: Path = paths.MODELS_DIR) -> Path:
    """Copy docs/ into ``work`` with the generated pages and the navigation; return its mkdocs.yml.

    ``models``: the project whose models get pages (default: the catalog).
    """
    from nestml_lab.codegen.manifest import load_manifest
    from nestml_lab.experiments.shared.contract import registry
    from nestml_lab.networks import schema

    shutil.copytree(DOCS, work / "docs", dirs_exist_ok=True)
    experiments = registry()
    (work / "docs" / "experiments").mkdir(exist_ok=True)
    for exp in experiments.values():
        (work / "docs" / "experiments" / f"{exp.folder}.md").write_text(experiment_page(exp))
    (work / "docs" / "models").mkdir(exist_ok=True)
    models = Path(models).resolve()
    manifest = load_manifest(models)
    listed = set(manifest.neurons) | set(manifest.synapses) | {p.neuron for p in manifest.pairs}
    model_files = sorted(f for f in manifest.models_dir.glob("*.nestml") if f.stem in listed)
    folder = "models" if models == paths.MODELS_DIR.resolve() else models.name
    for f in model_files:
        (work / "docs" / "models" / f"{f.stem}.md").write_text(model_page(f, folder))
    (work / "docs" / "models" / "index.md").write_text(project_page(models))
    (work / "docs" / "validation.md").write_text(validation_page(work / "docs"))
    (work / "docs" / "sweeps.md").write_text(sweeps_page(work / "docs"))
    trees_page = work / "docs" / "trees.md"
    trees_page.write_text(trees_page.read_text().replace("@SCHEMA@", schema.markdown()))
    title = "Model catalog" if folder == "models" else f"Models of {manifest.module}"
    nav = ["  - Home: index.md", "  - Getting started: getting_started.md", "  - From a notebook: notebooks.md",
           "  - Validate your own models: own_models.md",
           "  - Older NESTML, files named otherwise: older_nestml.md", "  - Gap junctions: gap_junctions.md",
           "  - Compartmental models: compartmental.md", "  - Sweeps on Dask: sweeps.md",
           "  - The pipeline: pipeline.md",
           "  - Experiments on the catalog: catalog_experiments.md", "  - Networks, trees, MPI: networks.md",
           "  - Validation: validation.md",
           "  - Solvers: solvers.md",
           "  - Experiment trees: trees.md",
           "  - Results on disk: results.md", "  - The experiment contract: experiments.md", "  - Experiments:"]
    nav += [f"      - {e.name}: experiments/{e.folder}.md" for e in experiments.values()]
    nav += [f"  - {title}:", "      - all models: models/index.md"]
    nav += [f"      - {f.stem}: models/{f.stem}.md" for f in model_files]
    nav += ["  - API: api.md"]
    config = work / "mkdocs.yml"
    config.write_text((DOCS / "mkdocs.yml.in").read_text().replace("@NAV@", "\n".join(nav))
                      .replace("@ROOT@", str(paths.REPO_ROOT))
                      .replace("@HOOKS@", str(Path(__file__).with_name("docs_hooks.py"))))
    (work / "docs" / "mkdocs.yml.in").unlink()
    return config


def build(out: Path | str, log=print, project: Path | str | None = None) -> Path:
    """Build the site into ``out`` (``--strict``: warnings are errors); return ``out/index.html``.

    ``project``: a project folder whose models get the model pages (default: the catalog).
    """
    out = Path(out).resolve()
    with tempfile.TemporaryDirectory(prefix="nestml-lab-docs-") as scratch:
        config = prepare(Path(scratch), Path(project) if project is not None else paths.MODELS_DIR)
        proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(out)],
                              capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mkdocs build --strict failed:\n{proc.stderr[-4000:]}")
    log(f"[docs] site written to {out}/index.html")
    return out / "index.html"


def main(argv=None) -> int:
    """``python -m nestml_lab.docs``: build the site; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m nestml_lab.docs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(paths.REPO_ROOT / "site"), help="output folder (default: site/)")
    parser.add_argument("--project", default=None, help="a project folder whose models get pages (default: the "
                        "catalog)")
    args = parser.parse_args(argv)
    try:
        build(args.out, project=args.project)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
