"""Training the quality model (scikit-learn, pandas, and torch for the fine-tuned half): nothing
here runs at scoring time, and nothing outside this package imports it but the CLI and benches.

* :mod:`.run` — :func:`~.run.train_and_register`, one run end to end (what ``assay quality train`` does);
* :mod:`.config` — :class:`~.config.TrainConfig`, :class:`~.config.TrainReport`, :class:`~.config.TrainInputError`;
* :mod:`.dataset` — labelled rows from a file;
* :mod:`.fit` — the linear half's recipe (:class:`~.fit.TrainParams`, :func:`~.fit.fit`);
* :mod:`.finetune` — the fine-tuned half: torch fine-tuning (resumable steps) and INT8 ONNX export;
* :mod:`.continued` — continuing a published version's fine-tuned half on the learner's labels,
  one candidate per job (``assay quality finetune-candidate``), with :mod:`.job_checkpoints` (its
  torch state) and :mod:`.dequantize` (torch weights from a shipped INT8 graph);
* :mod:`.cross_validation` — held-out metrics of the recipe.
"""
