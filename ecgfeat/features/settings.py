"""What to extract: a settings object in the spirit of tsfresh's fc_parameters.

Each family carries a version string; bump it when its algorithm or its columns change, and the
store recomputes that family (and only it) for every record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FAMILIES = ("expert", "rhythm", "tsfresh", "quality")
TSFRESH_SETS = ("fast", "efficient")
# 2: beat detection sets its QRS level from the candidates that stand out of the envelope (slow rhythms
# no longer count T waves and noise as beats: every family reads the beats); rhythm's f-wave band-pass
# no longer rings uncancelled beats into the kept segments
# 3: the delineation (signal/delineate.py, template.py, beats.py) is rewritten in this version, and the
# quality gate refuses records without credible beats and blanks low-quality leads (signal/quality.py);
# tsfresh always reads the record resampled to 100 Hz and band-passed to 0.67-40 Hz (before: the
# spline-baselined signal when beats were found, the band-pass otherwise); rhythm's
# wide_premature_count is renamed aberrant_premature_count (it measures QRS correlation, not width)
# quality 1: the signal-quality family (signal/quality.py)
# expert 4: per-lead wave morphology and its record-level criteria added (features/morphology.py)
# 4 (expert and rhythm): pacemaker spikes are found on the signal as recorded and bridged before
# filtering in paced records, a paced QRS starts at its stimulus (signal/pacing.py); per-lead QRS
# boundaries use Martinez et al.'s first/last-wave thresholds (signal/delineate.py); rhythm adds
# paced_share
# 5 (expert and rhythm): a lead's QRS offset is bounded by its own ST segment's slope, so a sloping
# ST no longer carries it past the J point (signal/delineate.py; the T and P windows start from
# the QRS offset); expert's r_progression_slope_mv is renamed r_progression_mv_per_lead (its unit)
VERSIONS = {"expert": "5", "rhythm": "5", "tsfresh-fast": "3", "tsfresh-efficient": "3", "quality": "1"}
# quality is computed for every record whatever the selection (it gates the beat families); it is
# stored by default, and `--features quality` alone refreshes it
DEFAULT_FAMILIES = ("expert", "rhythm", "tsfresh", "quality")
TSFRESH_FS = 100.0   # the tsfresh family looks at the record resampled to 100 Hz, diagnostic band


@dataclass(frozen=True)
class FeatureSettings:
    families: tuple[str, ...] = DEFAULT_FAMILIES
    tsfresh_set: str = "fast"
    leads: tuple[str, ...] = field(default=())   # empty: all 12

    def __post_init__(self):
        bad = [f for f in self.families if f not in FAMILIES]
        if bad:
            raise ValueError(f"--features: unknown family {bad[0]!r}; families are {', '.join(FAMILIES)}")
        if self.tsfresh_set not in TSFRESH_SETS:
            raise ValueError(f"--tsfresh-set: unknown set {self.tsfresh_set!r}; sets are {', '.join(TSFRESH_SETS)}")

    def tables(self) -> tuple[str, ...]:
        """Store tables (family keys) these settings fill: expert, rhythm, tsfresh-fast | tsfresh-efficient, quality."""
        return tuple(f"tsfresh-{self.tsfresh_set}" if f == "tsfresh" else f for f in self.families)

    def versions(self) -> dict[str, str]:
        return {t: VERSIONS[t] for t in self.tables()}

    @classmethod
    def parse(cls, features: str | None, tsfresh_set: str = "fast") -> "FeatureSettings":
        fams = tuple(f.strip() for f in features.split(",") if f.strip()) if features else DEFAULT_FAMILIES
        return cls(families=fams, tsfresh_set=tsfresh_set)
