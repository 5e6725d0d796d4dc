"""Small ``ast`` helpers shared by the Python parser's modules (no knowledge of patterns)."""

from __future__ import annotations

import ast

__all__ = ["annotation_text", "base_name", "last_name", "trivial_body"]


def last_name(node: ast.AST) -> str:
    """``a.b.name(...)``, ``a.b.name`` or ``name`` → ``name``: a decorator's, a callee's, a target's; ``""`` otherwise.

    >>> last_name(ast.parse("@functools.lru_cache(maxsize=2)\\ndef f(): pass").body[0].decorator_list[0])
    'lru_cache'
    """
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Name):
        return target.id
    return ""


def annotation_text(node: ast.AST | None) -> str | None:
    """Source text of an annotation (a string annotation is its content); ``None`` when absent."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value  # "ForwardRef"
    try:
        return ast.unparse(node)
    except (ValueError, RecursionError):  # trees unparse cannot write back
        return None


def base_name(node: ast.expr) -> str | None:
    """``pkg.Base[T]`` → ``Base``."""
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def trivial_body(body: list[ast.stmt]) -> tuple[bool, bool]:
    """``(empty, raises_not_implemented)``: only docstring / pass / ... / raise NotImplementedError."""
    stmts = list(body)
    if stmts and isinstance(stmts[0], ast.Expr) and isinstance(stmts[0].value, ast.Constant):
        stmts = stmts[1:]
    if not stmts:
        return True, False
    if len(stmts) > 1:
        return False, False
    s = stmts[0]
    if isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)):
        return True, False
    if isinstance(s, ast.Raise) and s.exc is not None:
        exc = s.exc.func if isinstance(s.exc, ast.Call) else s.exc
        if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
            return True, True
    if isinstance(s, ast.Return) and (s.value is None or (isinstance(s.value, ast.Constant) and s.value.value is None)):
        return True, False
    return False, False
