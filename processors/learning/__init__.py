"""Online learning for the quality model: pure parts, no Kafka, Faust, Qdrant or Redis.

* :mod:`.metrics` — progressive (prequential) macro-F1, log-loss, ECE, accuracy;
* :mod:`.optimizer`, :mod:`.replay`, :mod:`.learner` — a softmax head over fixed features that
  learns from labelled mini-batches, with Adam/AdaGrad, replay and a drift policy;
* :mod:`.drift`, :mod:`.drift_eval` — ADWIN and Page-Hinkley on the error stream, calibrated;
* :mod:`.state` — pickle-free state bytes for checkpoints.
"""
