"""Build the documentation site: the pages in docs/, plus a page per experiment and per catalog model.

    python -m nestml_lab.docs [--out site]       # make docs

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
    indented lines become code blocks."""
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


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def model_page(path: Path) -> str:
    source = path.read_text()
    kind = "synapse" if path.stem.endswith("_synapse") else "neuron"
    head = header_comment(source)
    title = head[0] if head else path.stem
    page = [f"# {path.stem}", "", f"*{kind}*, `models/{path.name}`" + (f": {_cell(title.split(' - ', 1)[-1])}"
                                                                      if " - " in title else ""), ""]
    page.append(comment_to_markdown(head[1:]) if len(head) > 1 else "")
    for block, label in (("parameters", "Parameters"), ("state", "State variables")):
        rows = declarations(source, block)
        if rows:
            page += [f"## {label}", "", "| name | type | default | meaning |", "|---|---|---|---|"]
            page += [f"| `{n}` | {_cell(t)} | `{_cell(v)}` | {_cell(c)} |" for n, t, v, c in rows]
            page.append("")
    return "\n".join(page)


def experiment_page(exp) -> str:
    from nestml_lab.experiments.contract import parameters

    mod = sys.modules[exp.module]
    page = [f"# {exp.name}", "", exp.help[0].upper() + exp.help[1:] + ".", "",
            f"    nestml-lab {exp.name} --out results/{exp.folder}     # or: make {exp.name}", "",
            (mod.__doc__ or "").strip(), "",
            f"## Parameters (`{exp.params.__module__}.{exp.params.__name__}`)", "",
            "| option | default | meaning |", "|---|---|---|"]
    for par in parameters(exp.params):
        option = f"`{par.option()}`" if par.cli else "(Python only)"
        page.append(f"| {option} | {_cell(par.shown_default())} | {_cell(par.help)} |")
    page += ["", f"In Python: `{exp.module}.run({exp.params.__name__}(...))` returns the result; `save`, `plot` "
             "and `summary` take it (see [the experiment contract](../experiments.md)).", ""]
    return "\n".join(page)


def prepare(work: Path, models: Path = paths.MODELS_DIR) -> Path:
    """Copy docs/ into ``work`` with the generated pages and the navigation; return its mkdocs.yml."""
    from nestml_lab.experiments.contract import registry

    shutil.copytree(DOCS, work / "docs", dirs_exist_ok=True)
    experiments = registry()
    (work / "docs" / "experiments").mkdir(exist_ok=True)
    for exp in experiments.values():
        (work / "docs" / "experiments" / f"{exp.folder}.md").write_text(experiment_page(exp))
    (work / "docs" / "models").mkdir(exist_ok=True)
    model_files = sorted(models.glob("*.nestml"))
    for f in model_files:
        (work / "docs" / "models" / f"{f.stem}.md").write_text(model_page(f))
    nav = ["  - Home: index.md", "  - Experiment trees: trees.md", "  - Results on disk: results.md",
           "  - The experiment contract: experiments.md", "  - Experiments:"]
    nav += [f"      - {e.name}: experiments/{e.folder}.md" for e in experiments.values()]
    nav += ["  - Model catalog:"] + [f"      - {f.stem}: models/{f.stem}.md" for f in model_files]
    nav += ["  - API: api.md"]
    config = work / "mkdocs.yml"
    config.write_text((DOCS / "mkdocs.yml.in").read_text().replace("@NAV@", "\n".join(nav))
                      .replace("@ROOT@", str(paths.REPO_ROOT)))
    (work / "docs" / "mkdocs.yml.in").unlink()
    return config


def build(out: Path | str, log=print) -> Path:
    """Build the site into ``out`` (``--strict``: warnings are errors); return ``out/index.html``."""
    out = Path(out).resolve()
    with tempfile.TemporaryDirectory(prefix="nestml-lab-docs-") as scratch:
        config = prepare(Path(scratch))
        proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(out)],
                              capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mkdocs build --strict failed:\n{proc.stderr[-4000:]}")
    log(f"[docs] site written to {out}/index.html")
    return out / "index.html"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nestml_lab.docs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(paths.REPO_ROOT / "site"), help="output folder (default: site/)")
    args = parser.parse_args(argv)
    try:
        build(args.out)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
