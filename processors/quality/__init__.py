"""Document quality scoring: an expected quality 1 (poor) .. 5 (excellent) per document.

:mod:`.baseline` is a documented heuristic (lexical and structural signals); a learned model will
replace it behind the same two functions, reading the same features.
"""

from processors.quality.baseline import MODEL_VERSION, label_for, quality_features, score_quality

__all__ = ["MODEL_VERSION", "label_for", "quality_features", "score_quality"]
