"""Published measurements the experiments are compared with (each with its source)."""

# Sjöström, Turrigiano & Nelson (2001), Neuron 32:1149, visual cortex L5: weight change after 60 pairings
# versus pairing frequency, as tabulated for the fits of Pfister & Gerstner (2006), J. Neurosci. 26:9673,
# Fig. 5 (mean and s.e.m.; relative change of the EPSP amplitude).
SJOSTROM_2001 = {
    "frequency_hz": [0.1, 10.0, 20.0, 40.0, 50.0],
    "dt_plus10": {"dw": [-0.04, 0.14, 0.29, 0.53, 0.56], "sem": [0.05, 0.10, 0.14, 0.11, 0.26]},
    "dt_minus10": {"dw": [-0.29, -0.41, -0.34, 0.56, 0.75], "sem": [0.08, 0.11, 0.10, 0.32, 0.19]},
}
