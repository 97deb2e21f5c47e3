"""Callbacks that watch and protect GAN training, one per file (as Keras keeps its own)."""

from tfgan_kit.callbacks.crash_safe_backup import CrashSafeBackup
from tfgan_kit.callbacks.fid_monitor import FIDMonitor
from tfgan_kit.callbacks.generator_ema import GeneratorEMA
from tfgan_kit.callbacks.imbalance_monitor import ImbalanceMonitor
from tfgan_kit.callbacks.mode_collapse_monitor import ModeCollapseMonitor
from tfgan_kit.callbacks.nan_guard import NaNGuard
from tfgan_kit.callbacks.sample_grid import SampleGrid, write_image_summary

__all__ = [
    "SampleGrid",
    "GeneratorEMA",
    "ImbalanceMonitor",
    "ModeCollapseMonitor",
    "FIDMonitor",
    "CrashSafeBackup",
    "NaNGuard",
    "write_image_summary",
]
