"""Signal processing shared by features, the CNN and explanations: filters, beats, median beats.

Why our own beat detector and delineator rather than neurokit2's per-lead pipeline: neurokit2
processes one lead at a time (~1.5 s per 12-lead record with `ecg_process`); ecgfeat detects beats
once on all leads together and delineates one median beat per record with global (all-lead)
boundaries, the way ECG carts measure intervals. It is checked against the synthetic generator's
ground truth and against neurokit2 on real PTB-XL records in tests/test_signal.py.
"""
