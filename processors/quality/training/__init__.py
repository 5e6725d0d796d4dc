"""Training the quality model (scikit-learn, and torch for the fine-tuned half): nothing here runs
at scoring time, and nothing outside this package imports it but the CLI and benches.

* :mod:`.fit` — the linear half's recipe (:class:`~.fit.TrainParams`, :func:`~.fit.fit`);
* :mod:`.finetune` — the fine-tuned half: torch fine-tuning and INT8 ONNX export;
* :mod:`.cross_validation` — held-out metrics of the recipe.
"""
