"""The vocabularies every module shares, defined once: leads, classes, codes.

Lead order is the standard one (I, II, III, aVR, aVL, aVF, V1-V6). Class names are the
CPSC 2018 nine (Zhang et al. 2020) and the PTB-XL diagnostic superclasses.
"""

from __future__ import annotations

LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF",
                          "V1", "V2", "V3", "V4", "V5", "V6")
LIMB_LEADS = LEADS[:6]
PRECORDIAL_LEADS = LEADS[6:]
RECORD_LEVEL = "all"  # pseudo-lead of record-level features (`all__rhythm__rr_cv`)

# Case-insensitive lookup: files spell aVR as AVR, avr, aVR ...
_LEAD_BY_KEY = {name.lower(): name for name in LEADS}


def canonical_lead(name: str) -> str | None:
    """Standard spelling of a lead name from a file, or None when it is not one of the 12."""
    return _LEAD_BY_KEY.get(str(name).strip().lower())


def parse_leads(spec: str | None) -> tuple[str, ...]:
    """`"I,aVR,V5"` -> ("I", "aVR", "V5") in standard order; None/"" /"all" -> all 12.

    Raises ValueError naming the unknown lead.
    """
    if spec is None or spec.strip() in ("", "all"):
        return LEADS
    out = []
    for part in spec.split(","):
        lead = canonical_lead(part)
        if lead is None:
            raise ValueError(f"unknown lead {part.strip()!r}; leads are {', '.join(LEADS)}")
        if lead not in out:
            out.append(lead)
    return tuple(sorted(out, key=LEADS.index))


# The paper's nine classes (CPSC 2018 codes 1..9, in this order).
CPSC9: tuple[str, ...] = ("Normal", "AF", "I-AVB", "LBBB", "RBBB", "PAC", "PVC", "STD", "STE")
CPSC_CODE_TO_CLASS = {str(i + 1): c for i, c in enumerate(CPSC9)}

# PTB-XL diagnostic superclasses, in the order of the PTB-XL benchmark.
PTBXL_SUPER: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")

# SNOMED CT codes used by the PhysioNet/CinC Challenge 2020/2021 for the CPSC classes
# (../shared/data/README.md). Normal is "sinus rhythm" there; see labels.py for how it is used.
SNOMED_TO_CPSC9 = {
    "426783006": "Normal",
    "164889003": "AF",
    "270492004": "I-AVB",
    "164909002": "LBBB",
    "59118001": "RBBB", "713427006": "RBBB",
    "284470004": "PAC", "63593006": "PAC",
    "164884008": "PVC", "427172004": "PVC",
    "429622005": "STD",
    "164931005": "STE",
}

# Names of the SNOMED CT codes a Challenge 2020/2021 header most often carries (the Challenge's scored
# classes, dx_mapping_scored.csv, plus the CPSC classes' codes above), for `data info`; a code not here is
# shown as its number alone.
SNOMED_NAMES = {
    "164889003": "AF", "164890007": "AFL", "6374002": "BBB", "426627000": "Brady", "733534002": "CLBBB",
    "713427006": "CRBBB", "270492004": "IAVB", "713426002": "IRBBB", "39732003": "LAD", "445118002": "LAnFB",
    "164909002": "LBBB", "251146004": "LQRSV", "698252002": "NSIVCB", "10370003": "PR", "284470004": "PAC",
    "427172004": "PVC", "164947007": "LPR", "111975006": "LQT", "164917005": "QAb", "47665007": "RAD",
    "59118001": "RBBB", "427393009": "SA", "426177001": "SB", "426783006": "NSR", "427084000": "STach",
    "63593006": "SVPB", "164934002": "TAb", "59931005": "TInv", "17338001": "VPB", "164884008": "VEB",
    "429622005": "STD", "164931005": "STE", "428750005": "NSSTTA", "164861001": "MIs", "164865005": "MI",
}

# PTB-XL SCP statements for the CPSC classes. Normal needs NORM and SR together (labels.py).
SCP_TO_CPSC9 = {
    "AFIB": "AF",
    "1AVB": "I-AVB",
    "CLBBB": "LBBB",
    "CRBBB": "RBBB",
    "PAC": "PAC",
    "PVC": "PVC",
    "STD_": "STD",
    "STE_": "STE",
}

# SPH (Liu et al., Sci Data 9, 272, 2022) writes AHA/ACC/HRS standardized statement codes (Mason et al.,
# Circulation 115:1325-1332, 2007; the codebook ships as SPH's code.csv). A statement is a primary code
# with modifiers after "+" ("50+346": AF with a rapid ventricular response); statements are joined by
# ";". Primary codes of the CPSC classes, from that table:
#   1 Normal ECG; 50 Atrial fibrillation; 82 Prolonged PR interval (first-degree AV block);
#   104 Left bundle-branch block; 106 Right bundle-branch block (complete: 105 is *incomplete* RBBB,
#   not mapped, as PTB-XL's IRBBB is not); 30 Atrial premature complex(es), 31 Atrial premature
#   complexes, nonconducted; 60 Ventricular premature complex(es).
# Not mapped: 2 "Otherwise normal ECG" (a minor finding is present), 20 Sinus rhythm alone (SPH codes a
# normal tracing as 1), 145-147 ST/T statements without a direction (see AHA_ST_DIRECTION), 160-174
# infarction statements (ischaemic ST changes are left out, as for PTB-XL).
AHA_TO_CPSC9 = {
    "1": "Normal",
    "50": "AF",
    "82": "I-AVB",
    "104": "LBBB",
    "106": "RBBB",
    "30": "PAC", "31": "PAC",
    "60": "PVC",
}
# ST deviation (145) or ST deviation with T-wave change (146) maps to STD / STE only with the AHA
# repolarization modifier giving the direction: 362 Depression, 363 Elevation.
AHA_ST_DEVIATION = ("145", "146")
AHA_ST_DIRECTION = {"362": "STD", "363": "STE"}

# LUDB (Kalyakulina et al., IEEE Access 8, 2020) ludb.csv free-text statements -> CPSC classes, matched
# case-insensitively at the start of a statement (LUDB appends details: "Ventricular extrasystole,
# type: couplet"). Incomplete RBBB/LBBB are not mapped (as for PTB-XL and SNOMED); STD/STE are not
# derived: LUDB's Ischemia column ("Ischemia: inferior wall", "Stemi: septal", "Undefined
# ischemia/scar/supp.nstemi: ...") names ischaemia by wall, not an ST shift, and the ischaemic
# statements of PTB-XL (ISC_, INJ..) are not mapped either. Normal: see labels.ludb_is_normal.
LUDB_TO_CPSC9 = (
    ("atrial fibrillation", "AF"),
    ("i degree av block", "I-AVB"),
    ("complete left bundle branch block", "LBBB"),
    ("complete right bundle branch block", "RBBB"),
    ("atrial extrasystole", "PAC"),
    ("ventricular extrasystole", "PVC"),
)
