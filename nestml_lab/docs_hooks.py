"""MkDocs hook of the documentation site: Sphinx roles in docstrings become code, linked where the API page
documents the name."""

from __future__ import annotations

import re

#: ``:func:`~pkg.mod.name``` as mkdocstrings renders it: the role's text, then the target as inline code.
_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|obj|exc):<code>(~?)([\w.]+)(\(\))?</code>")


def on_page_content(html: str, page, config, files) -> str:
    """Replace each rendered Sphinx role with inline code, a link to its API entry where the site has one."""
    def link(match: re.Match) -> str:
        short, target, call = match.group(1), match.group(2), match.group(3) or ""
        shown = target.rsplit(".", 1)[-1] if short else target
        if _documented(target):
            prefix = "" if page.file.src_uri == "api.md" else "../" * page.file.src_uri.count("/") + "api.html"
            return f'<a href="{prefix}#{target}"><code>{shown}{call}</code></a>'
        return f"<code>{shown}{call}</code>"

    return _ROLE.sub(link, html)


def _documented(target: str) -> bool:
    """Whether the API page has an entry for ``target`` (one of its ``:::`` lines, or a member of one)."""
    return any(target == entry or target.startswith(entry + ".") for entry in _API_ENTRIES)


_API_ENTRIES = ("nestml_lab.project.make_module", "nestml_lab.project.new_project", "nestml_lab.module.load",
                "nestml_lab.module.Module", "nestml_lab.module.reset_kernel", "nestml_lab.experiments.contract",
                "nestml_lab.trees", "nestml_lab.parallel", "nestml_lab.notebook")
