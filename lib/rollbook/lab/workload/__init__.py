"""The reference chat workload: open-loop traffic on history, send and conversations,
steered by the rollout's feature flags, with Prometheus metrics.

Run it as `python -m rollbook.lab.workload --lab-dir DIR`.
"""
