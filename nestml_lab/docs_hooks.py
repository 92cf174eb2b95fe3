"""MkDocs hook of the documentation site: Sphinx roles in docstrings become code, linked where the API page
documents the name.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

#: ``:func:`~pkg.mod.name``` as mkdocstrings renders it: the role's text, then the target as inline code.
_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|obj|exc):<code>(~?)([\w.]+)(\(\))?</code>")


def on_page_content(html: str, page, config, files) -> str:
    """Replace each rendered Sphinx role with inline code, a link to its API entry where the site has one."""
    entries = _api_entries(Path(config["docs_dir"]) / "api.md")

    def link(match: re.Match) -> str:
        short, target, call = match.group(1), match.group(2), match.group(3) or ""
        shown = target.rsplit(".", 1)[-1] if short else target
        if any(target == entry or target.startswith(entry + ".") for entry in entries):
            prefix = "" if page.file.src_uri == "api.md" else "../" * page.file.src_uri.count("/") + "api.html"
            return f'<a href="{prefix}#{target}"><code>{shown}{call}</code></a>'
        return f"<code>{shown}{call}</code>"

    return _ROLE.sub(link, html)


@lru_cache(maxsize=4)
def _api_entries(api_page: Path) -> tuple[str, ...]:
    """The names the API page documents: its ``::: name`` lines (a member of one is documented too)."""
    return tuple(re.findall(r"^:::\s+([\w.]+)", api_page.read_text(), re.M))
