"""GoF design patterns detected from code structure (any language with a structural summary).

:func:`.detect.detect_design_patterns` reads a *list* of structural summaries
(:class:`schemas.structure.StructureSummary`: classes, bases, fields and their types, methods with
what they create, call, write and return, constructor visibility, static fields). A stateful stage
can keep the summaries of every file of a ``set_id`` and detect over all of them, so patterns whose
classes live in different files are found too; extraction detects over the one document it sees.

Modules, in the order detection runs: :mod:`.index` (the structure model: merged classes,
hierarchy, inferred field types), the detectors by family (:mod:`.singleton`, :mod:`.creational`,
:mod:`.delegation`, :mod:`.structural`, :mod:`.behavioural`, :mod:`.callbacks`), :mod:`.resolve`
(overlapping interpretations), :mod:`.detect` (the driver, which turns a failing detector into a
:class:`~processors.patterns.outcome.DetectorFailure`), and :mod:`.annotate` (detections → records).

The detectors key on structure — inheritance, composition (field types, collections of a supertype),
who creates whom, delegation to fields, private constructors and static instances, what a method
returns — and only add a little confidence for conventional names. Each detection names its roles;
:func:`.annotate.annotate` turns detections into ``gof:<pattern>`` tags on the participating class
records plus one ``design_pattern`` record per detection (key ``design_pattern:<pattern>:<sorted participants>``).

==========================  =====================================================================
pattern                     structure it keys on
==========================  =====================================================================
singleton                   static field of the own type (or a module/package variable) handed out by
                            a static accessor / ``__new__``; private constructor; lazy creation;
                            metaclass ``__call__`` caching instances; shared-state (Borg)
factory_method              abstract/overridable creator method whose overrides create and return
                            different products of one product family; parameterised factories
abstract_factory            abstract factory with ≥2 creation methods for different product families,
                            implemented by concrete factories creating concrete products
builder                     fluent setters returning ``this`` plus a method building another type from
                            the builder's state; or an abstract builder whose concrete builder assembles
                            a product field step by step (optionally driven by a director)
prototype                   a method returning a copy of ``self`` (copy constructor, ``super.clone()``,
                            ``copy.copy(self)``, ``type(self)(…)``) declared polymorphically / Cloneable
adapter                     implements a target type and delegates its methods to a field of an
                            unrelated type under different names (object adapter) or to an inherited
                            concrete class (class adapter)
bridge                      abstraction hierarchy holding an injected implementor interface with several
                            implementations and delegating to it
composite                   collection field of a supertype (or filled from ``add(child)``) whose
                            elements get the same operation the composite is asked to do; leaf siblings
decorator                   subtype of a component that wraps an injected component of that same type and
                            forwards the same operation, usually with subclasses adding behaviour
facade                      one class creating/holding several unrelated subsystem classes and
                            orchestrating calls into them
flyweight                   keyed pool (map field) that creates instances only when missing and returns
                            the shared ones
proxy                       same interface as a real subject it creates itself (lazily) or guards
                            (conditional forwarding); dynamic ``__getattr__`` forwarding
chain_of_responsibility     handler holding a successor of its own type, set via constructor/setter,
                            forwarding the same request conditionally; several concrete handlers
command                     small command interface implemented by classes that hold a receiver and
                            invoke it; invokers storing commands and calling the command method
interpreter                 expression hierarchy: non-terminals holding child expressions and
                            evaluating them recursively with the same method; terminals without
iterator                    iteration protocol (``hasNext``/``next``, ``__next__``, ``Iterator`` impls,
                            ``operator++``) plus an aggregate creating its iterator
mediator                    colleagues holding a reference to a mediator they call (passing themselves)
                            while the mediator holds and calls the colleagues
memento                     originator creating a state object from its own fields and restoring its
                            fields from one; a caretaker keeping them
observer                    subject registering listeners into a collection (add/remove) and notifying
                            them in a loop with a statement call (or calling callbacks)
state                       context delegating to a state field of an abstract type whose concrete
                            states switch the context to other states
strategy                    context delegating to an injected/settable field of an abstract type with
                            several interchangeable implementations (no transitions)
template_method             concrete method in an abstract class calling ≥2 primitive operations that
                            are abstract or overridden by subclasses
visitor                     elements whose ``accept(v)`` calls back ``v.<op>(this)`` (double dispatch)
                            on a visitor family with one operation per element type
==========================  =====================================================================

>>> from processors.patterns.code import summarize_structure
>>> from schemas.documents import Document
>>> src = '''
... class Config:
...     _instance = None
...     def __new__(cls):
...         if cls._instance is None:
...             cls._instance = super().__new__(cls)
...         return cls._instance
... '''
>>> found = detect_design_patterns([summarize_structure(
...     Document(id="d", type="code", content=src, version="v", language="python"))])
>>> [(d.pattern, d.roles["singleton"]) for d in found.detections]
[('singleton', ['Config'])]
"""

from __future__ import annotations

from processors.patterns.design.annotate import annotate
from processors.patterns.design.detect import DesignPatterns, detect_design_patterns
from processors.patterns.design.detection import GOF_PATTERNS, REPORT_MIN, Detection

__all__ = ["GOF_PATTERNS", "REPORT_MIN", "DesignPatterns", "Detection", "annotate", "detect_design_patterns"]
