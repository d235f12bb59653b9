"""Simulation studies: power of planned meta-analyses and null calibration."""
