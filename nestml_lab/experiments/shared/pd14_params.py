"""Parameters of the Potjans & Diesmann (2014) cortical microcircuit, from the paper.

Potjans TC, Diesmann M (2014) The cell-type specific cortical microcircuit:
relating structure and activity in a full-scale spiking network model.
Cereb. Cortex 24:785-806; Tables 5 and 6. Every entry gives meaning and unit;
derived values come from the functions below, not from numbers in the
experiment code.
"""

from __future__ import annotations

import numpy as np

# the eight populations, in the order of every array below
POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")

# number of neurons per population at full scale
FULL_NUM_NEURONS = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])

# connection probabilities, row: target population, column: source population
CONN_PROBS = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
])

# number of external (background) inputs per neuron, per population
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
# rate of each external input (Hz)
BG_RATE_HZ = 8.0

# mean amplitude of an excitatory postsynaptic potential (mV)
PSP_EXC_MV = 0.15
# relative inhibitory strength: inhibitory PSP = G * excitatory PSP
G = -4.0
# the L4E -> L23E connection has twice the excitatory PSP
PSP_L4E_TO_L23E_FACTOR = 2.0
# relative standard deviation of the weights
WEIGHT_REL_STD = 0.1
# mean delays of excitatory and inhibitory connections (ms), relative standard deviation
DELAY_EXC_MS = 1.5
DELAY_INH_MS = 0.75
DELAY_REL_STD = 0.5

# neuron: leaky integrate-and-fire with exponential currents (iaf_psc_exp)
NEURON = {
    "C_m": 250.0,      # membrane capacitance (pF)
    "tau_m": 10.0,     # membrane time constant (ms)
    "tau_syn": 0.5,    # excitatory and inhibitory synaptic time constant (ms)
    "E_L": -65.0,      # resting potential (mV)
    "V_th": -50.0,     # threshold (mV)
    "V_reset": -65.0,  # reset potential (mV)
    "t_ref": 2.0,      # refractory period (ms)
}
# initial membrane potentials: normal distribution per population (mV), as in NEST's example ("optimized")
V0_MEAN_MV = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43])
V0_STD_MV = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48])

# published full-scale mean rates (Hz), also used to compensate the lost input when indegrees are scaled
FULL_MEAN_RATES_HZ = np.array([0.90, 2.97, 4.41, 5.88, 7.57, 8.63, 1.11, 7.83])


def num_synapses(conn_probs=CONN_PROBS, num_neurons=FULL_NUM_NEURONS) -> np.ndarray:
    """Total synapse numbers K[i, j] giving connection probability p[i, j] with multapses (paper, eq. 1)."""
    prod = np.outer(num_neurons, num_neurons)
    return np.log(1.0 - conn_probs) / np.log((prod - 1.0) / prod)


def psc_over_psp(c_m: float = NEURON["C_m"], tau_m: float = NEURON["tau_m"],
                 tau_syn: float = NEURON["tau_syn"]) -> float:
    """PSC amplitude (pA) per mV of PSP peak for iaf_psc_exp."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / c_m * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac ** tau_m - frac ** tau_syn))


def psp_matrix() -> np.ndarray:
    """Mean PSP (mV) per connection, row: target, column: source."""
    psp = np.tile([PSP_EXC_MV, G * PSP_EXC_MV], (8, 4))
    psp[0, 2] *= PSP_L4E_TO_L23E_FACTOR
    return psp


def delay_matrix() -> np.ndarray:
    """Mean delay (ms) per connection: by the source population's type."""
    return np.tile([DELAY_EXC_MS, DELAY_INH_MS], (8, 4))


def derived(scale: float) -> dict:
    """Everything the network needs at ``scale`` (N_scaling = K_scaling = scale).

    With indegrees scaled by k < 1 the weights grow by 1/sqrt(k) (keeping the
    fluctuations) and a DC current restores the lost mean input, both from
    recurrent and from external connections (paper, section "Downscaling";
    without the external term the network falls silent at 0.1).
    """
    full_syn = num_synapses()
    n = np.round(FULL_NUM_NEURONS * scale).astype(int)
    k_syn = np.round(full_syn * scale * scale).astype(int)
    k_ext = np.round(K_EXT * scale).astype(int)
    psc = psp_matrix() * psc_over_psp()
    psc_ext = PSP_EXC_MV * psc_over_psp()
    tau_syn = NEURON["tau_syn"]
    dc = np.zeros(8)
    if scale != 1.0:
        indegree = full_syn / FULL_NUM_NEURONS[:, None]
        input_rec = np.sum(psc * indegree * FULL_MEAN_RATES_HZ, axis=1)
        input_ext = psc_ext * K_EXT * BG_RATE_HZ
        dc = 0.001 * tau_syn * (1.0 - np.sqrt(scale)) * (input_rec + input_ext)
        psc = psc / np.sqrt(scale)
        psc_ext = psc_ext / np.sqrt(scale)
    return {"num_neurons": n, "num_synapses": k_syn, "ext_indegree": k_ext, "weights": psc, "weight_ext": psc_ext,
            "dc_pA": dc, "delays": delay_matrix()}
