"""Composed YAML (nodes with line marks, no objects constructed): a safe loader and node accessors.

YAML is only *composed* (``yaml.compose_all``), so it is safe for untrusted input. libyaml composes
recursively on the C stack, so input that could nest deeper than :data:`MAX_C_DEPTH` goes to the
pure-Python loader, whose ``RecursionError`` the callers turn into a fallback."""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["MAX_C_DEPTH", "child", "mapping_items", "scalar", "yaml_loader"]

_C_LOADER = getattr(yaml, "CSafeLoader", None)
MAX_C_DEPTH = 500  # libyaml composes recursively on the C stack: deeper input goes to the Python loader
_LEADING_SPACES_RE = re.compile(r"^ +", re.M)
_NOT_BRACKETS_RE = re.compile(r"[^\[\]{}]+")
_COMPACT_RE = re.compile(r"(?:[-?:][ \t]++)+")  # "- - - x": nesting without indentation


def _nesting_estimate(content: str) -> int:
    """Rough upper bound of how deep ``content`` can nest: indentation width plus the longest run of
    compact block indicators, or the flow-bracket depth."""
    indent = max(map(len, _LEADING_SPACES_RE.findall(content)), default=0)
    indent += max((len(run.replace(" ", "").replace("\t", "")) for run in _COMPACT_RE.findall(content)), default=0)
    brackets = _NOT_BRACKETS_RE.sub("", content)
    depth = best = 0
    if len(brackets) > MAX_C_DEPTH:
        for ch in brackets:
            depth = depth + 1 if ch in "[{" else max(0, depth - 1)
            best = max(best, depth)
    return max(indent, best)


def yaml_loader(content: str) -> type:
    """The fast C loader when the input cannot nest deep enough to overflow the C stack; otherwise the
    pure-Python loader, whose RecursionError the caller turns into a text fallback."""
    if _C_LOADER is not None and _nesting_estimate(content) <= MAX_C_DEPTH:
        return _C_LOADER
    return yaml.SafeLoader


def scalar(node: Any) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str) else None


def child(node: Any, key: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if scalar(k) == key:
                return v
    return None


def mapping_items(node: Any) -> list[tuple[str, Any]]:
    if isinstance(node, yaml.MappingNode):
        return [(scalar(k) or "", v) for k, v in node.value]
    return []
