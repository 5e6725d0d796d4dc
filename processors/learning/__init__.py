"""Online learning for the quality model: pure parts, no Kafka, Faust, Qdrant or Redis.

In the order a labelled feedback event meets them:

* :mod:`.session` — the streaming learner's state: dedupes by offset, scores before learning,
  watches drift, learns, says when a candidate is due; checkpointed with its offsets;
* :mod:`.metrics` — progressive (prequential) macro-F1, log-loss, ECE, accuracy;
* :mod:`.drift`, :mod:`.drift_eval` — ADWIN (reset on alarm) and Page-Hinkley on the error
  stream; calibration and measurement on simulated streams;
* :mod:`.learner`, :mod:`.optimizer`, :mod:`.replay` — the softmax head: Adam/AdaGrad, replay of
  earlier labels, anchor, drift policy;
* :mod:`.fold` — head features of the linear half and folding a head back into its arrays;
* :mod:`.sequential`, :mod:`.rollout` — the always-valid A/B test and the shadow → ramp →
  promote/rollback state machine;
* :mod:`.input_drift` — unlabelled drift of embeddings and scores per document type;
* :mod:`.state` — pickle-free state bytes.
"""
