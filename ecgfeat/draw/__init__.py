"""Records drawn on ECG paper at true scale (25 mm/s, 10 mm/mV): the cart's sheet of `ecgfeat show`
(`sheet` analyses a record, `cart` lays it out) and the explanations' one-lead-per-row figures
(`paper.draw_rows`). It sits above features (a sheet shows the measured fiducials) and below
explain and report, which both draw with it."""

from __future__ import annotations

from .cart import draw_sheet
from .paper import CAL_W, DPI, FORMATS, LEFT, MM_PER_MV, MM_PER_S, Paper, draw_rows, inches_per_mv, inches_per_second, save
from .sheet import ANNOT, ECGFEAT, Marks, Sheet, baseline_corrected, prepare_sheet

__all__ = ["ANNOT", "CAL_W", "DPI", "ECGFEAT", "FORMATS", "LEFT", "MM_PER_MV", "MM_PER_S", "Marks", "Paper", "Sheet",
           "baseline_corrected", "draw_rows", "draw_sheet", "inches_per_mv", "inches_per_second", "prepare_sheet",
           "save"]
