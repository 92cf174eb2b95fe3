"""Published firing patterns: the parameter sets and stimuli, as the papers' scripts give them.

Izhikevich (2004), "Which model to use for cortical spiking neurons?", IEEE Trans. Neural Netw. 15:1063,
Fig. 1: the 20 neuro-computational features, with the values and stimuli of the script that draws it
(``figure1.m``, published with the paper). Each panel integrates

    V <- V + tau (0.04 V^2 + 5 V + 140 - u + I);  u <- u + tau a (b V - u)   (u from the new V)
    if V > 30: V <- c, u <- u + d

from V = V0, u = b V0 (panels G and L use 0.04 V^2 + 4.1 V + 108; panel R du/dt = a b (V + 65) and
u0 = -16). ``I(t)`` is the current at the loop's time t = 0, tau, 2 tau, ...

Naud, Marcille, Clopath & Gerstner (2008), "Firing patterns in the adaptive exponential integrate-and-fire
model", Biol. Cybern. 99:335, Table 1 and Fig. 4: eight AdEx parameter sets and their step currents, as
Brian2's example ``frompapers/Naud_et_al_2008_adex_firing_patterns.py`` gives them (parameters adapted by
P. Mueller to match the paper's figures): C (pF), g_L (nS), E_L, V_T (mV), Delta_T (mV), a (nS), tau_w (ms),
b (pA), V_r (mV), I (pA); V starts at E_L, w at 0, the current is on from t = 0, a spike is V > 0 mV.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class IzhikevichPanel:
    """One panel of Izhikevich (2004), Fig. 1."""

    key: str            # the figure's letter
    name: str
    a: float
    b: float
    c: float
    d: float
    v0: float
    tau: float          # the script's step (ms)
    t_end: float        # the script's last time (ms)
    current: Callable   # I(t) for an array of times (the script's units: pA through 1 GOhm, mV/ms)
    criterion: str      # what the panel shows, as checked on the spike times (and V)
    equation: str = "standard"   # or "class1" (4.1 V + 108) or "accommodation" (du/dt = a b (V + 65))
    u0: float | None = None      # None: b * v0

    @property
    def u_start(self) -> float:
        """The recovery variable's start: b v0 unless the script gives u0."""
        return self.b * self.v0 if self.u0 is None else self.u0


def _step(level, at):
    return lambda t: np.where(t > at, level, 0.0)


def _pulses(level, starts, width):
    return lambda t: level * np.any([(t > s) & (t < s + width) for s in starts], axis=0)


IZHIKEVICH_2004 = [
    IzhikevichPanel("A", "tonic spiking", 0.02, 0.2, -65, 6, -70, 0.25, 100, _step(14.0, 10.0),
                    "spikes to the end of the step (last after 75 ms), the last two ISIs within 5%"),
    IzhikevichPanel("B", "phasic spiking", 0.02, 0.25, -65, 6, -64, 0.25, 200, _step(0.5, 20.0),
                    "one spike, after the onset (20 ms), then none"),
    IzhikevichPanel("C", "tonic bursting", 0.02, 0.2, -50, 2, -70, 0.25, 220, _step(15.0, 22.0),
                    "at least 3 bursts of 2 or more spikes, the last starting after half the run"),
    IzhikevichPanel("D", "phasic bursting", 0.02, 0.25, -55, 0.05, -64, 0.2, 200, _step(0.6, 20.0),
                    "one burst of 3 or more spikes within 60 ms of the onset, then none"),
    IzhikevichPanel("E", "mixed mode", 0.02, 0.2, -55, 4, -70, 0.25, 160, _step(10.0, 16.0),
                    "a burst (3 spikes, ISIs under 10 ms), then single spikes (2 or more ISIs over 20 ms)"),
    IzhikevichPanel("F", "spike frequency adaptation", 0.01, 0.2, -65, 8, -70, 0.25, 85, _step(30.0, 8.5),
                    "ISIs grow monotonically, the last over 5 times the first"),
    IzhikevichPanel("G", "Class 1 excitable", 0.02, -0.1, -55, 6, -60, 0.25, 300,
                    lambda t: np.where(t > 30, 0.075 * (t - 30), 0.0),
                    "under the ramp, fires first at a low rate (first ISI over 35 ms), then ever faster",
                    equation="class1"),
    IzhikevichPanel("H", "Class 2 excitable", 0.2, 0.26, -65, 0, -64, 0.25, 300,
                    lambda t: np.where(t > 30, -0.5 + 0.015 * (t - 30), -0.5),
                    "under the ramp, starts at a high rate (first ISI under 25 ms), then faster"),
    IzhikevichPanel("I", "spike latency", 0.02, 0.2, -65, 6, -70, 0.2, 100, _pulses(7.04, [10.0], 3.0),
                    "one spike, over 10 ms after the 3-ms pulse began"),
    IzhikevichPanel("J", "subthreshold oscillations", 0.05, 0.26, -60, 0, -62, 0.25, 200,
                    _pulses(2.0, [20.0], 5.0),
                    "one spike, then damped oscillations (2 or more falling local maxima of V)"),
    IzhikevichPanel("K", "resonator", 0.1, 0.26, -60, -1, -62, 0.25, 400,
                    _pulses(0.65, [40.0, 60.0, 280.0, 320.0], 4.0),
                    "the doublet 20 ms apart does nothing; the one 40 ms apart (resonant) fires one spike"),
    IzhikevichPanel("L", "integrator", 0.02, -0.1, -55, 6, -60, 0.25, 100,
                    _pulses(9.0, [100 / 11, 100 / 11 + 5, 70.0, 80.0], 2.0),
                    "the pulses 5 ms apart fire one spike; those 10 ms apart none", equation="class1"),
    IzhikevichPanel("M", "rebound spike", 0.03, 0.25, -60, 4, -64, 0.2, 200, _pulses(-15.0, [20.0], 5.0),
                    "one spike, after the inhibitory pulse ended (25 ms)"),
    IzhikevichPanel("N", "rebound burst", 0.03, 0.25, -52, 0, -64, 0.2, 200, _pulses(-15.0, [20.0], 5.0),
                    "one burst of 3 or more spikes (within 40 ms) after the inhibitory pulse ended"),
    IzhikevichPanel("O", "threshold variability", 0.03, 0.25, -60, 4, -64, 0.25, 100,
                    lambda t: _pulses(1.0, [10.0, 80.0], 5.0)(t) + _pulses(-6.0, [70.0], 5.0)(t),
                    "the pulse alone (10 ms) does nothing; the same pulse after inhibition (80 ms) fires"),
    IzhikevichPanel("P", "bistability", 0.1, 0.26, -60, 0, -61, 0.25, 300,
                    lambda t: 0.24 + _pulses(1.0, [37.5, 216.0], 5.0)(t),
                    "the first pulse (37.5 ms) starts tonic firing (3 or more spikes), the second (216 ms) stops it"),
    IzhikevichPanel("Q", "depolarizing after-potential", 1.0, 0.2, -60, -21, -70, 0.1, 50,
                    lambda t: np.where(np.abs(t - 10.0) < 1.0, 20.0, 0.0),
                    "one spike, after which V rises again above the reset (c) before it decays"),
    IzhikevichPanel("R", "accommodation", 0.02, 1.0, -55, 4, -65, 0.5, 400,
                    lambda t: np.select([t < 200, t < 300, t < 312.5], [t / 25, 0 * t, (t - 300) / 12.5 * 4], 0.0),
                    "the slow ramp (to 8 in 200 ms) does nothing; the fast one (to 4 in 12.5 ms) fires one spike",
                    equation="accommodation", u0=-16.0),
    IzhikevichPanel("S", "inhibition-induced spiking", -0.02, -1, -60, 8, -63.8, 0.5, 350,
                    lambda t: np.where((t < 50) | (t > 250), 80.0, 75.0),
                    "spikes (2 or more) only while the current is lowered (50-250 ms)"),
    IzhikevichPanel("T", "inhibition-induced bursting", -0.026, -1, -45, -2, -63.8, 0.5, 350,
                    lambda t: np.where((t < 50) | (t > 250), 80.0, 75.0),
                    "bursts (2 or more) only while the current is lowered (50-250 ms)"),
]


#: Naud et al. (2008): pattern -> (C, g_L, E_L, V_T, Delta_T, a, tau_w, b, V_r, I); the class they show.
NAUD_2008 = {
    "tonic spiking": ((200, 10, -70, -50, 2, 2, 30, 0, -58, 500), ("", "tonic")),
    "adaptation": ((200, 12, -70, -50, 2, 2, 300, 60, -58, 500), ("", "adapting")),
    "initial burst": ((130, 18, -58, -50, 2, 4, 150, 120, -50, 400), ("initial burst", "tonic")),
    "regular bursting": ((200, 10, -58, -50, 2, 2, 120, 100, -46, 210), ("", "bursting")),
    "delayed accelerating": ((200, 12, -70, -50, 2, -10, 300, 0, -58, 300), ("delayed", "accelerating")),
    "delayed regular bursting": ((100, 10, -65, -50, 2, -10, 90, 30, -47, 110), ("delayed", "bursting")),
    "transient spiking": ((100, 10, -65, -50, 2, 10, 90, 100, -47, 180), ("", "transient")),
    "irregular spiking": ((100, 12, -60, -50, 2, -11, 130, 30, -48, 160), ("", "irregular")),
}
NAUD_FIELDS = ("C_m", "g_L", "E_L", "V_th", "Delta_T", "a", "tau_w", "b", "V_reset", "I_e")
