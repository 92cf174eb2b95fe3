"""Independent event-driven reference implementations of the catalog's plasticity rules.

Each function takes spike times (ms) and the rule's parameters under the
catalog model's names, and walks the events in time order with exact
exponential decays between them. Nothing here uses NEST or generated code, so
a disagreement with a simulation is a real finding.

Timing follows NEST's convention for a connection with dendritic delay d: a
presynaptic spike emitted at t_pre acts at the synapse at t_pre, and a
postsynaptic spike at t_post reaches the synapse at t_post + d. Events at the
same instant do not see each other: potentiation by a postsynaptic spike uses
the presynaptic traces from before that instant, depression by a presynaptic
spike the postsynaptic traces from before it. Several presynaptic spikes at one
instant (a spike of multiplicity n) act as n spikes in a row, as NESTML's
generated synapses process them (NEST's built-ins count such an event once). Like NEST, the weight is only
brought up to date when a presynaptic spike arrives (the weight a spike
carries), so postsynaptic spikes after the last presynaptic spike leave the
final weight unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Defaults of the catalog models (models/*.nestml), by parameter name.
STDP_DEFAULTS = {"lambda": 0.01, "alpha": 1.0, "mu_plus": 1.0, "mu_minus": 1.0,
                 "tau_tr_pre": 20.0, "tau_tr_post": 20.0, "Wmax": 100.0}
TRIPLET_DEFAULTS = {"tau_plus": 16.8, "tau_x": 101.0, "tau_minus": 33.7, "tau_y": 125.0,
                    "A2_plus": 5e-10, "A3_plus": 6.2e-3, "A2_minus": 7e-3, "A3_minus": 2.3e-4,
                    "Wmax": 100.0, "Wmin": 0.0}
TSODYKS_DEFAULTS = {"w": 1.0, "U": 0.5, "tau_psc": 3.0, "tau_rec": 800.0, "tau_fac": 0.0}
STP_STDP_DEFAULTS = {"p_s0": 0.6, "tau_ps": 800.0, "tau_ns": 1500.0, "tau_stdp": 20.0, "Apre0": 0.01,
                     "Apost0": -0.0105, "w_max": 1.0, "stdp_value": 0.05, "w_sign": 1.0}
ADDITIVE_DEFAULTS = {"lambda": 0.01, "alpha": 1.0, "tau_tr_pre": 20.0, "tau_tr_post": 20.0}


def _merge(defaults: dict, params: dict | None) -> dict:
    params = dict(params or {})
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise KeyError(f"unknown parameter(s) {unknown}; the rule has: {', '.join(defaults)}")
    return {**defaults, **params}


def _instants(pre, post, delay: float):
    """Yield (t, n_pre, n_post): the instants at which spikes act on the synapse, in time order."""
    pre = np.sort(np.asarray(pre, dtype=float))
    post = np.sort(np.asarray(post, dtype=float)) + delay
    if len(pre) == 0:
        return
    post = post[post <= pre[-1]]          # later postsynaptic spikes never reach the weight
    times = np.concatenate([pre, post])
    kind = np.concatenate([np.ones(len(pre), bool), np.zeros(len(post), bool)])
    order = np.argsort(times, kind="stable")
    times, kind = times[order], kind[order]
    i = 0
    while i < len(times):
        j = i
        while j < len(times) and times[j] == times[i]:
            j += 1
        n_pre = int(kind[i:j].sum())
        yield float(times[i]), n_pre, (j - i) - n_pre
        i = j


@dataclass
class WeightTrace:
    """Weight carried by each presynaptic spike (after its update), and the final weight."""

    t_pre: np.ndarray
    w: np.ndarray
    amplitude: np.ndarray | None = None   # what each spike transmits, when it differs from w

    @property
    def final(self) -> float:
        """The weight at the end."""
        return float(self.w[-1])


def stdp_pair(pre, post, delay: float, w0: float, params: dict | None = None,
              nearest: bool = False) -> WeightTrace:
    """Pair-based STDP with soft weight dependence (catalog ``stdp_synapse``; NEST ``stdp_synapse``).

    potentiation: w <- Wmax * min(1, w/Wmax + lambda (1 - w/Wmax)^mu_plus  x_pre)
    depression:   w <- Wmax * max(0, w/Wmax - alpha lambda (w/Wmax)^mu_minus x_post)

    ``nearest=False``: all-to-all traces (x += 1 per spike). ``nearest=True``:
    symmetric nearest-neighbour traces (x = 1 per spike; catalog
    ``stdp_nn_symm_synapse``, NEST ``stdp_nn_symm_synapse``).
    """
    p = _merge(STDP_DEFAULTS, params)
    lam, alpha, wmax = p["lambda"], p["alpha"], p["Wmax"]
    w, x_pre, x_post, t_last = float(w0), 0.0, 0.0, None
    ws = []
    for t, n_pre, n_post in _instants(pre, post, delay):
        if t_last is not None:
            x_pre *= math.exp(-(t - t_last) / p["tau_tr_pre"])
            x_post *= math.exp(-(t - t_last) / p["tau_tr_post"])
        t_last = t
        for _ in range(n_post):
            norm = w / wmax + lam * (1.0 - w / wmax) ** p["mu_plus"] * x_pre
            w = wmax * norm if norm < 1.0 else wmax
        for _ in range(n_pre):
            norm = w / wmax - alpha * lam * (w / wmax) ** p["mu_minus"] * x_post
            w = wmax * norm if norm > 0.0 else 0.0
            ws.append(w)
        if n_pre:
            x_pre = 1.0 if nearest else x_pre + n_pre
        if n_post:
            x_post = 1.0 if nearest else x_post + n_post
    return WeightTrace(np.sort(np.asarray(pre, dtype=float)), np.asarray(ws))


def stdp_additive(pre, post, delay: float, w0: float, params: dict | None = None) -> WeightTrace:
    """Additive all-to-all STDP without bounds (seed 001's convolve-kernel synapse).

    potentiation: w += lambda x_pre; depression: w -= alpha lambda x_post.
    """
    p = _merge(ADDITIVE_DEFAULTS, params)
    w, x_pre, x_post, t_last = float(w0), 0.0, 0.0, None
    ws = []
    for t, n_pre, n_post in _instants(pre, post, delay):
        if t_last is not None:
            x_pre *= math.exp(-(t - t_last) / p["tau_tr_pre"])
            x_post *= math.exp(-(t - t_last) / p["tau_tr_post"])
        t_last = t
        w += n_post * p["lambda"] * x_pre
        for _ in range(n_pre):
            w -= p["alpha"] * p["lambda"] * x_post
            ws.append(w)
        x_pre += n_pre
        x_post += n_post
    return WeightTrace(np.sort(np.asarray(pre, dtype=float)), np.asarray(ws))


def stdp_triplet(pre, post, delay: float, w0: float, params: dict | None = None) -> WeightTrace:
    """All-to-all triplet STDP (Pfister & Gerstner 2006; catalog and NEST ``stdp_triplet_synapse``).

    at a postsynaptic spike: w += r1 (A2_plus + A3_plus o2), o2 taken just before the spike
    at a presynaptic spike:  w -= o1 (A2_minus + A3_minus r2), r2 taken just before the spike
    with traces r1 (tau_plus), r2 (tau_x) of the presynaptic and o1 (tau_minus),
    o2 (tau_y) of the postsynaptic spikes, each += 1 per spike; w kept in [Wmin, Wmax].
    """
    p = _merge(TRIPLET_DEFAULTS, params)
    w, r1, r2, o1, o2, t_last = float(w0), 0.0, 0.0, 0.0, 0.0, None
    ws = []
    for t, n_pre, n_post in _instants(pre, post, delay):
        if t_last is not None:
            h = t - t_last
            r1 *= math.exp(-h / p["tau_plus"])
            r2 *= math.exp(-h / p["tau_x"])
            o1 *= math.exp(-h / p["tau_minus"])
            o2 *= math.exp(-h / p["tau_y"])
        t_last = t
        for _ in range(n_post):
            w = min(p["Wmax"], w + r1 * (p["A2_plus"] + p["A3_plus"] * o2))
        for _ in range(n_pre):   # a spike of multiplicity n: n spikes in a row, each seeing the one before
            w = max(p["Wmin"], w - o1 * (p["A2_minus"] + p["A3_minus"] * r2))
            ws.append(w)
            r1, r2 = r1 + 1, r2 + 1
        o1, o2 = o1 + n_post, o2 + n_post
    return WeightTrace(np.sort(np.asarray(pre, dtype=float)), np.asarray(ws))


def tsodyks(pre, params: dict | None = None) -> np.ndarray:
    """Tsodyks-Markram short-term plasticity as in NEST's ``tsodyks_synapse`` (catalog ``tsodyks_synapse``).

    Returns the amplitude w * u * x transmitted by each presynaptic spike. The
    resources move between available (x), active (y, decaying with tau_psc)
    and recovering (z = 1 - x - y, recovering with tau_rec); u decays to 0
    with tau_fac (tau_fac 0: no facilitation) and grows by U (1 - u) per spike.
    The first spike is measured from t = 0 with x = 1, y = 0, u = 0.
    """
    p = _merge(TSODYKS_DEFAULTS, params)
    x, y, u, t_last = 1.0, 0.0, 0.0, 0.0
    out = []
    for t in np.sort(np.asarray(pre, dtype=float)):
        h = t - t_last
        t_last = t
        puu = 0.0 if p["tau_fac"] == 0 else math.exp(-h / p["tau_fac"])
        pyy = math.exp(-h / p["tau_psc"])
        pzz = math.exp(-h / p["tau_rec"])
        pxy = ((pzz - 1.0) * p["tau_rec"] - (pyy - 1.0) * p["tau_psc"]) / (p["tau_psc"] - p["tau_rec"])
        z = 1.0 - x - y
        u *= puu
        x += pxy * y + (1.0 - pzz) * z
        y *= pyy
        u += p["U"] * (1.0 - u)
        released = u * x
        x -= released
        y += released
        out.append(p["w"] * released)
    return np.asarray(out)


def tsodyks_ratio_closed_form(n: int, rate_hz: float, U: float, tau_rec: float) -> float:
    """A_n / A_1 for a regular train of a depressing synapse without facilitation, in the limit tau_psc -> 0.

    With u = U at every spike, the available fraction before spike k obeys
    x_k = 1 - (1 - (1 - U) x_{k-1}) exp(-T / tau_rec), x_1 = 1.
    """
    decay = math.exp(-1000.0 / rate_hz / tau_rec)
    x = 1.0
    for _ in range(n - 1):
        x = 1.0 - (1.0 - (1.0 - U) * x) * decay
    return x


def stp_stdp(pre, post, delay: float, w0: float, params: dict | None = None) -> WeightTrace:
    """Short-term (release probability, resources) plus additive STDP, catalog ``stp_stdp_synapse``.

    Between spikes p_s relaxes to p_s0 (tau_ps), n_s to 1 (tau_ns), Apre and
    Apost to 0 (tau_stdp). Presynaptic spike: p_s += p_s0 (1 - p_s),
    r_s = p_s n_s, n_s -= r_s, Apre += Apre0, w = clip(w + Apost), transmit
    w_sign w r_s. Postsynaptic spike: Apost += Apost0, w = clip(w + Apre). The clip is
    to [(1 - stdp_value) w_max, w_max].
    """
    p = _merge(STP_STDP_DEFAULTS, params)
    lo, hi = (1.0 - p["stdp_value"]) * p["w_max"], p["w_max"]
    w, p_s, n_s, a_pre, a_post, t_last = float(w0), p["p_s0"], 1.0, 0.0, 0.0, 0.0
    ws, amps = [], []
    for t, n_pre, n_post in _instants(pre, post, delay):
        h = t - t_last
        t_last = t
        p_s = p["p_s0"] + (p_s - p["p_s0"]) * math.exp(-h / p["tau_ps"])
        n_s = 1.0 + (n_s - 1.0) * math.exp(-h / p["tau_ns"])
        a_pre *= math.exp(-h / p["tau_stdp"])
        a_post *= math.exp(-h / p["tau_stdp"])
        for _ in range(n_post):
            w = min(hi, max(lo, w + a_pre))
        for _ in range(n_pre):
            p_s += p["p_s0"] * (1.0 - p_s)
            r_s = p_s * n_s
            n_s -= r_s
            w = min(hi, max(lo, w + a_post))
            ws.append(w)
            amps.append(p["w_sign"] * w * r_s)
        a_pre += n_pre * p["Apre0"]
        a_post += n_post * p["Apost0"]
    return WeightTrace(np.sort(np.asarray(pre, dtype=float)), np.asarray(ws), np.asarray(amps))


# Which reference reproduces which catalog synapse (by catalog name).
RULES = {
    "stdp_synapse": stdp_pair,
    "stdp_nn_symm_synapse": lambda pre, post, delay, w0, params=None: stdp_pair(pre, post, delay, w0, params,
                                                                                nearest=True),
    "stdp_triplet_synapse": stdp_triplet,
    "stp_stdp_synapse": stp_stdp,
    "seed001_stdp_synapse": stdp_additive,
}

# NEST built-in synapse -> (catalog twin, NEST parameter name -> catalog parameter name).
NEST_TWINS = {
    "stdp_synapse": ("stdp_synapse", {"lambda": "lambda", "alpha": "alpha", "mu_plus": "mu_plus",
                                      "mu_minus": "mu_minus", "tau_plus": "tau_tr_pre", "Wmax": "Wmax"}),
    "stdp_nn_symm_synapse": ("stdp_nn_symm_synapse", {"lambda": "lambda", "alpha": "alpha", "mu_plus": "mu_plus",
                                                      "mu_minus": "mu_minus", "tau_plus": "tau_tr_pre",
                                                      "Wmax": "Wmax"}),
    "stdp_triplet_synapse": ("stdp_triplet_synapse", {"tau_plus": "tau_plus", "tau_plus_triplet": "tau_x",
                                                      "Aplus": "A2_plus", "Aplus_triplet": "A3_plus",
                                                      "Aminus": "A2_minus", "Aminus_triplet": "A3_minus",
                                                      "Wmax": "Wmax"}),
}
