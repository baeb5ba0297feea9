"""Scheduled runs: one runbook fanned out over many params files (clusters)."""

from rollbook.schedule.fanout import FanOutResult, aggregate_exit_code, fan_out, run_command

__all__ = ["FanOutResult", "aggregate_exit_code", "fan_out", "run_command"]
