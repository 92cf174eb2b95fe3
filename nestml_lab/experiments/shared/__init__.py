"""What the experiments share: the experiment contract (``contract``), loading a module and simulating
(``common``), input trains (``random_trains``), published data and parameters (``patterns_data``,
``pd14_params``) and the Brian2 side of a cross-check (``adex_brian2``). Nothing here is an experiment.
"""
