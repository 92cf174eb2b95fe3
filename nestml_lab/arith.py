"""Arithmetic over named values, for the mappings users write (a reference's or a twin's parameters)."""

from __future__ import annotations

import ast
import operator

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos}


def evaluate(expr: str, names: dict, where: str, owner: str = "the synapse") -> float:
    """``expr`` (numbers, names, + - * / **, parentheses) over ``names``; errors start with ``where`` and say
    what ``owner`` has.
    """

    def value(node):
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise KeyError(f"{where}: {owner} has no parameter {node.id!r}; it has: {', '.join(sorted(names))}")
            return float(names[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.operand))
        raise ValueError(f"{where}: only numbers, parameter names, + - * / ** and parentheses are allowed")

    try:
        tree = ast.parse(str(expr), mode="eval")
    except SyntaxError:
        raise ValueError(f"{where}: not an arithmetic expression") from None
    return value(tree)
