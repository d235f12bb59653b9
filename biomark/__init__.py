"""biomark: ALE meta-analysis and peak-displacement biomarkers for stroke motor recovery."""

__version__ = "0.1.0"
