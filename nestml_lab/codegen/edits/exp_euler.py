"""Exponential Euler as Brian2 defines it (``method='exponential_euler'``), written into NESTML's generated C++.

Each state variable's right-hand side f_i is split, as Brian2's ``get_conditionally_linear_system`` does,
into A_i x_i + B_i: the expression is expanded and collected in x_i; A_i is the coefficient of x_i, B_i all
the rest (terms where x_i is not a factor, such as an exponential of it, stay in B_i). Both are evaluated from
the values at the start of the step, every other variable frozen over it, and

    x_i <- -B_i / A_i + (x_i + B_i / A_i) exp(A_i h)      (A_i = 0: x_i + h B_i;  B_i = 0: x_i exp(A_i h))

for all variables at once. The step is written for latency, since NEST updates one neuron through all the
steps of a slice, each waiting on the last: the reciprocal of B_i / A_i's denominator (g_L + g_ex + g_in) is
taken from the other variables, off the chain through x_i, which then meets a multiplication instead of a
division. Where B_i = R + c f(x_i) (the AdEx: f = exp(V_m / Delta_T)), the step is written
x_i exp(A_i h) + (R / A_i)(exp(A_i h) - 1) + (c / A_i)(exp(A_i h) - 1) f(x_i), the same value: all but the last
product is computed beside the exponential of V_m, so from one step's V_m to the next there are f, one
multiplication and one addition, not eight operations. Divisions by parameters (V_m / Delta_T) become
multiplications by internal variables. (This moves a result by rounding, ~1e-15 relative; the step is the
toolkit's own, no NEST model to match bit for bit.)
Variables that NESTML's exact propagators overwrite right after the step (g_ex, g_in) are not stepped.

A variable that appears in its own f_i other than linearly or inside a function (V^2 in Izhikevich's
model) makes the system not conditionally linear: refused, as Brian2 refuses it.
A bound of the variable itself in f_i, ``min(V_m, V_peak)``, reads as the variable: at the start of a step
it is below its bound (a spike resets it there).

The split is made from the generated dynamics function (the C++ NESTML emits for GSL), parsed with sympy;
the update replaces NESTML's forward-Euler step (module.yaml ``solvers: {model: exponential-Euler}``).
"""

from __future__ import annotations

import re

from nestml_lab.codegen.edits.cpp import Refused

_ATOM = re.compile(r"ode_state\[State_::(\w+)\]|node\.(?:P_|V_|S_|B_)\.\w+(?:\[\w+\])?|\b(?:std::)?"
                   r"(exp|log|sqrt|pow|min|max|fabs|abs|tanh|sinh|cosh|sin|cos|tan|expm1|log1p)\s*\(")
_LINE = re.compile(r"^\s*f\[State_::(\w+)\] = (.*);\s*$", re.M)
_FUNCTIONS = ("exp", "log", "sqrt", "pow", "min", "max", "fabs", "abs", "tanh", "sinh", "cosh", "sin", "cos",
              "tan", "expm1", "log1p")


class NotConditionallyLinear(Refused):
    """An equation exponential Euler cannot take (the variable is not linear in its own derivative); not a
    ValueError, which means the generated code is not what the rewrite expects.
    """


def dynamics_body(source: str, dynamics: str) -> dict[str, str]:
    """``{variable: C++ right-hand side}`` of the dynamics function ``dynamics`` in a generated ``.cpp``."""
    start = source.index(f"int {dynamics}(")
    end = source.index("\n}", start)
    return {m[1]: m[2] for m in _LINE.finditer(source[start:end])}


def _to_sympy(expr: str, symbols: dict):
    """The C++ expression as sympy, C++ names held by symbols (``symbols``: C++ text -> symbol, filled in)."""
    import sympy as sp

    text, out, pos = expr, [], 0
    for m in _ATOM.finditer(text):
        out.append(text[pos:m.start()])
        if m[2]:   # a function call: its sympy name
            out.append({"min": "Min", "max": "Max", "fabs": "Abs", "abs": "Abs"}.get(m[2], m[2]) + "(")
        else:
            atom = m[0]
            if atom not in symbols:
                symbols[atom] = sp.Symbol(f"nestml_lab_{len(symbols)}", real=True)
            out.append(symbols[atom].name)
        pos = m.end()
    out.append(text[pos:])
    code = "".join(out)
    leftover = re.findall(r"[A-Za-z_][\w:.]*", re.sub(r"nestml_lab_\d+|\b(?:Min|Max|Abs|" + "|".join(_FUNCTIONS)
                                                      + r")\b|\b\d+(?:\.\d*)?(?:[eE][-+]?\d+)?", "", code))
    if leftover:
        raise NotConditionallyLinear(f"the dynamics function uses {sorted(set(leftover))}, which the exponential "
                                     "Euler rewrite does not read")
    local = {s.name: s for s in symbols.values()}
    local.update({"Min": sp.Min, "Max": sp.Max, "Abs": sp.Abs, "pow": sp.Pow, "expm1": lambda x: sp.exp(x) - 1,
                  "log1p": lambda x: sp.log(1 + x)})
    return sp.sympify(code, locals=local)


def split(body: dict[str, str]) -> tuple[dict, dict]:
    """``({variable: (A, B)}, symbols)``: each right-hand side as A x + B (sympy), Brian2's way."""
    import sympy as sp

    symbols: dict = {}
    system = {}
    for var, expr in body.items():
        x = symbols.setdefault(f"ode_state[State_::{var}]", sp.Symbol(f"nestml_lab_{len(symbols)}", real=True))
        f = _to_sympy(expr, symbols)
        f = f.replace(lambda e: isinstance(e, (sp.Min, sp.Max)) and x in e.args, lambda e: x)
        f = sp.expand(f, power_exp=False)   # exp(a + b) stays one exponential (Brian2 splits it: the same value)
        if f.has(x):
            parts = sp.collect(f, x, evaluate=False)
            if len(parts) > 2 or x not in parts:
                names = {s.name: re.sub(r"^.*[.:]", "", atom).rstrip("]") for atom, s in symbols.items()}
                terms = sorted(re.sub(r"nestml_lab_\d+", lambda m: names[m[0]], str(k)) for k in parts)
                raise NotConditionallyLinear(f"d{var}/dt is not linear in {var} (terms in {', '.join(terms)}): "
                                             "exponential Euler cannot integrate it; use rk45, rk4 or an Euler")
            system[var] = (parts.get(x, sp.Integer(0)), parts.get(sp.Integer(1), sp.Integer(0)))
        else:
            system[var] = (sp.Integer(0), f)
    return system, symbols


def update_code(body: dict[str, str], indent: str, exact: frozenset = frozenset()) -> tuple[str, dict]:
    """The C++ of one exponential-Euler step of the variables of ``body``, inside the model's ``update``, and
    the factors that depend on parameters only (exp(A h), exp(-V_th / Delta_T), 1 / Delta_T; ``{internal
    variable: C++}``): computed with the model's other internal variables (:func:`rewrite`), not at every
    step. Variables in ``exact`` (their exact solution replaces the step's value) are read, not stepped.
    """
    import sympy as sp
    from sympy.printing.cxx import cxxcode

    system, symbols = split(body)
    back = {s.name: atom for atom, s in symbols.items()}
    varying = {s for atom, s in symbols.items() if atom.startswith(("ode_state", "node.B_", "node.S_"))}

    def cxx(e) -> str:
        text = cxxcode(sp.sympify(e), standard="c++11")
        return re.sub(r"nestml_lab_(?:c)?\d+", lambda m: back[m[0]], text)

    constants = {}

    def constant(f) -> sp.Symbol:
        """An internal variable holding ``f`` (parameters only), one per distinct ``f``."""
        text = cxx(f)
        name = next((n for n, c in constants.items() if c == text), f"nestml_lab_c{len(constants)}")
        constants[name] = text
        back[name] = f"node.V_.{name}"
        return sp.Symbol(name)

    def fixed(e) -> bool:
        return bool(e.free_symbols) and not (e.free_symbols & varying)

    def hoisted(e):
        """``e`` with its functions of parameters only (exp(-V_th / Delta_T)) and its divisions by them (V_m /
        Delta_T) as internal variables.
        """
        for f in sorted(e.atoms(sp.exp, sp.log), key=str):
            if fixed(f):
                e = e.xreplace({f: constant(f)})
        for f in sorted(e.atoms(sp.Pow), key=str):
            if f.exp == -1 and fixed(f.base):
                e = e.xreplace({f: constant(f)})
        return e

    i = indent
    lines = [f"{i}// nestml-lab: exponential Euler (Brian2's exponential_euler): x <- -B/A + (x + B/A) exp(A h),",
             f"{i}// A and B of each variable from the step's start, the others frozen over the step",
             f"{i}double nestml_lab_next[State_::STATE_VEC_SIZE];",
             f"{i}{{",
             f"{i}  const auto& node = *this;",
             f"{i}  const double* ode_state = S_.ode_state;"]
    stepped = [var for var in system if var not in exact]
    for var in stepped:
        a, b = system[var]
        x = f"ode_state[State_::{var}]"
        a = sp.factor_terms(a)   # one division by C_m, not one per term
        if a == 0:
            lines.append(f"{i}  nestml_lab_next[State_::{var}] = {x} + __timestep * ({cxx(hoisted(b))});")
            continue
        if not (sp.sympify(a).free_symbols & varying):
            constants[f"nestml_lab_expAh_{var}"] = f"std::exp(({cxx(a)}) * __timestep)"
            growth = f"node.V_.nestml_lab_expAh_{var}"
        else:
            growth = f"std::exp(({cxx(hoisted(a))}) * __timestep)"
        if b == 0:
            step = f"{x} * {growth}"
        else:
            ratio = sp.factor_terms(sp.cancel(sp.together(b / a)))   # common factors (1 / C_m) cancelled
            num, den = sp.fraction(ratio)
            if den.free_symbols & varying and symbols[x] not in den.free_symbols:
                # the reciprocal from the other variables, off the chain through x
                lines.append(f"{i}  const double nestml_lab_inv_{var} = 1.0 / ({cxx(hoisted(den))});")
                terms = sp.Add.make_args(sp.expand(num, power_exp=False))
                own = [t for t in terms if symbols[x] in t.free_symbols]
                rest = sp.Add(*[t for t in terms if symbols[x] not in t.free_symbols])
                if len(own) == 1:
                    # x' = x g + (B/A)(g - 1), B = rest + c f(x) (f: exp(V_m / Delta_T)): everything but c' f(x)
                    # is computed off the chain through x, which is then f, one multiplication, one addition
                    c, f = own[0].as_independent(symbols[x], as_Add=False)
                    n = f"nestml_lab_{{}}_{var}"
                    lines += [f"{i}  const double {n.format('g')} = {growth};",
                              f"{i}  const double {n.format('gm1')} = {n.format('g')} - 1.0;",
                              f"{i}  const double {n.format('K')} = {x} * {n.format('g')} + (({cxx(hoisted(rest))})"
                              f" * nestml_lab_inv_{var}) * {n.format('gm1')};",
                              f"{i}  const double {n.format('c')} = (({cxx(hoisted(c))}) * nestml_lab_inv_{var})"
                              f" * {n.format('gm1')};",
                              f"{i}  nestml_lab_next[State_::{var}] = {n.format('K')} + {n.format('c')} * "
                              f"{cxx(hoisted(f))};"]
                    continue
                ba = f"({cxx(hoisted(num))}) * nestml_lab_inv_{var}"
            else:
                ba = cxx(hoisted(ratio))
            lines.append(f"{i}  const double nestml_lab_BA_{var} = {ba};")
            step = f"-nestml_lab_BA_{var} + ({x} + nestml_lab_BA_{var}) * {growth}"
        lines.append(f"{i}  nestml_lab_next[State_::{var}] = {step};")
    lines.append(f"{i}}}")
    lines += [f"{i}S_.ode_state[State_::{var}] = nestml_lab_next[State_::{var}];" for var in stepped]
    return "\n".join(lines) + "\n", constants


_VARIABLES = re.compile(r"(struct Variables_\n\s*\{\n)")
_RECOMPUTE = re.compile(r"::recompute_internal_variables\(bool exclude_timestep\)\n\{\n")


def rewrite(source: str, header: str, euler_step: re.Match, exact: frozenset = frozenset()) -> tuple[str, str]:
    """Replace NESTML's Euler step (``euler_step``, a match in ``source`` with groups indent and dyn) by the
    exponential-Euler step; its parameter-only factors become internal variables of the model (declared in
    ``header``, computed at the end of ``recompute_internal_variables``). ``exact``: the variables NESTML's
    exact propagators set right after the step (not stepped). Raises ValueError when either place is not found.
    """
    code, constants = update_code(dynamics_body(source, euler_step["dyn"]), euler_step["indent"], exact)
    source = source[:euler_step.start()] + code + source[euler_step.end():]
    if constants:
        decl = _VARIABLES.search(header)
        start = _RECOMPUTE.search(source)
        if decl is None or start is None:
            raise ValueError("the model's Variables_ struct or recompute_internal_variables() not found")
        header = (header[:decl.end()] + "".join(f"    double {n}; // nestml-lab: exponential Euler's {c.replace('node.', '')}\n"
                                                 for n, c in constants.items()) + header[decl.end():])
        end = source.index("\n}\n", start.end())
        computed = "".join(f"    V_.{n} = {c.replace('node.', '')};\n" for n, c in constants.items())
        source = source[:end] + "\n  {  // nestml-lab: exponential Euler's factors of parameters only\n" \
            + computed + "  }" + source[end:]
    return source, header
