"""The field's standard evaluation protocol (SCLIP lineage): pure functions, no I/O.

Modules: ``settings`` (the versioned per-benchmark values), ``resize`` (mmcv rescale, cv2-like
bilinear, normalisation), ``windows`` (sliding windows), ``scoring`` (softmax, synonyms,
thresholds), ``pamr``, ``refine`` (SD refinement of whole-image scores), ``metric`` (mmseg
IoUMetric), ``infer`` (one image end to end). See docs/protocol.md.
"""
