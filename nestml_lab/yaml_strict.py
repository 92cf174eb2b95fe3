"""YAML for hand-written files: a key given twice is an error (PyYAML keeps the last one silently).

A manifest with two ``pairs:`` keys, or a tree with two ``sessions:``, would
otherwise build another module or run another experiment than the one written.
"""

from __future__ import annotations

import yaml


class DuplicateKeyError(yaml.YAMLError):
    """A mapping names one key twice; the message gives both lines."""


class _StrictLoader(yaml.SafeLoader):
    pass


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":   # "<<: *anchor" merges are not duplicates
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"found an unhashable key {key!r}",
                key_node.start_mark) from None
        if key in seen:
            raise DuplicateKeyError(f"key {key!r} appears twice: line {seen[key] + 1} and line "
                                    f"{key_node.start_mark.line + 1} (only one can hold)")
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(text: str):
    """``yaml.safe_load`` that refuses duplicate keys (raises :class:`DuplicateKeyError`, a ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=_StrictLoader)
