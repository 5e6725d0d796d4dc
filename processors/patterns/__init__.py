"""Pattern extraction: one validated :class:`Document` → an :class:`Extraction`.

:func:`extract_patterns` is the one entry point. It returns the document's :class:`PatternRecord`
list (``patterns``), the structural summary of a code document (``summary``, a
:class:`schemas.structure.StructureSummary` that the set stage merges across files), and every
detector that failed (``failures``: :class:`DetectorFailure` values to count). It picks an
extractor by document type (and language):

==============  ===========================================================================
code            :mod:`.code`: :mod:`.python` (``ast``) for Python; :mod:`.treesitter` for Java,
                JavaScript, TypeScript/TSX, Go, Rust, C and C++; :mod:`.generic_code` (regexes)
                for other languages or when a grammar is missing
documentation   :mod:`.docs`: heading-path sections split at paragraphs, then ``practice``,
                ``code_example`` and ``procedure`` patterns (:mod:`.practices`); HTML via a
                tag-stripped view
architecture    :mod:`.architecture`: YAML services/resources/keys; other formats as docs; all
                formats also through the component graph (→ ``component`` patterns and one
                ``architecture`` pattern tagged ``arch:<style>``)
general         :mod:`.text`: sentence-aware passages with one-sentence overlap
==============  ===========================================================================

Code patterns carry tags: Python idioms (:mod:`.python.idioms`: context managers, retry with
backoff, caching, async fan-out, dependency injection) and GoF design patterns found from structure
(:mod:`.design`: ``gof:<pattern>`` tags on the classes involved plus one ``design_pattern``
pattern per detection). :mod:`.sets` detects over the summaries of every file of one set
(cross-file patterns).

Contract, whatever the input (checked by ``tests/unit/processors/patterns/test_patterns_contract.py``):

* keys are unique within the document and stable (same document → same keys, in the same order);
* spans are 1-based line ranges inside the document (``1 <= start <= end <= lines``), where lines
  end at ``\\n``, ``\\r\\n`` or ``\\r``;
* ``text`` is non-empty and at most ``max_chars`` long; ``snippet`` is the raw lines, at most 4000
  characters; ``extractor`` is ``<module>/<version>``;
* nothing raises: an extractor that fails falls back to text passages (tagged
  ``extractor_error``) and is reported in ``failures``; a detector that fails inside an extractor
  (a design-pattern detector, the architecture graph) is reported in ``failures`` and only its own
  findings are missing; an extractor that finds nothing in non-blank content falls back to passages;
* at most ``max_patterns`` (default :data:`MAX_PATTERNS`) per document: the rest is dropped and the
  last kept pattern carries a ``truncated`` tag saying how many there were.

>>> from schemas.documents import Document
>>> doc = Document(id="d", type="code", language="python", version="v",
...                content="def add(a, b):\\n    '''Sum.'''\\n    return a + b\\n")
>>> found = extract_patterns(doc)
>>> [(p.key, p.kind, p.extractor) for p in found.patterns]
[('module:<module>', 'module', 'python_code/1.0.0'), ('function:add', 'function', 'python_code/1.0.0')]
>>> found.summary.classes, [f.name for f in found.summary.functions], found.failures
((), ['add'], ())
"""

from __future__ import annotations

from processors.patterns.extraction import MAX_PATTERNS, extract_patterns, extractor_for
from processors.patterns.outcome import DetectorFailure, Extraction

__all__ = ["MAX_PATTERNS", "DetectorFailure", "Extraction", "extract_patterns", "extractor_for"]
