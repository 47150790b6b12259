"""ecgfeat: physiologic + time-series features for 12-lead ECG diagnosis, with a deep comparator."""

__version__ = "0.1.0"
