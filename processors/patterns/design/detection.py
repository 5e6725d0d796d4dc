"""One detected GoF pattern instance (:class:`Detection`), the 23 patterns, and the reporting floor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from schemas.patterns import PatternTag

__all__ = ["GOF_PATTERNS", "REPORT_MIN", "Detection", "name_hint"]


#: detections below this confidence are dropped
REPORT_MIN = 0.5

GOF_PATTERNS: dict[str, tuple[str, str]] = {
    "singleton": ("creational", "ensures a class has one instance and a global access point to it"),
    "factory_method": ("creational", "lets subclasses decide which product class to instantiate"),
    "abstract_factory": ("creational", "creates families of related products without naming concrete classes"),
    "builder": ("creational", "separates building a complex object step by step from its representation"),
    "prototype": ("creational", "creates new objects by copying an existing instance"),
    "adapter": ("structural", "converts the interface of a class into the interface clients expect"),
    "bridge": ("structural", "decouples an abstraction from its implementation so both vary independently"),
    "composite": ("structural", "composes objects into trees and treats leaves and groups uniformly"),
    "decorator": ("structural", "attaches responsibilities to an object dynamically by wrapping it"),
    "facade": ("structural", "provides one simple interface to a set of subsystem classes"),
    "flyweight": ("structural", "shares fine-grained instances through a keyed pool"),
    "proxy": ("structural", "provides a surrogate that controls access to a real subject"),
    "chain_of_responsibility": ("behavioral", "passes a request along a chain of handlers until one handles it"),
    "command": ("behavioral", "encapsulates a request as an object with a receiver"),
    "interpreter": ("behavioral", "evaluates sentences of a grammar with one class per rule"),
    "iterator": ("behavioral", "accesses elements of an aggregate sequentially without exposing it"),
    "mediator": ("behavioral", "centralises communication between colleague objects"),
    "memento": ("behavioral", "captures and restores an object's internal state"),
    "observer": ("behavioral", "notifies registered dependents when a subject changes"),
    "state": ("behavioral", "lets an object change behaviour when its internal state object changes"),
    "strategy": ("behavioral", "makes a family of algorithms interchangeable behind one interface"),
    "template_method": ("behavioral", "defines an algorithm skeleton whose steps subclasses override"),
    "visitor": ("behavioral", "adds operations to an element hierarchy via double dispatch"),
}


@dataclass
class Detection:
    """One detected pattern instance: roles map role names to class (or ``Class.member``) names."""

    pattern: str
    confidence: float
    roles: dict[str, list[str]]
    evidence: list[str] = field(default_factory=list)

    @property
    def participants(self) -> list[str]:
        """Class names taking part (member references ``Class.member`` count as their class)."""
        out: list[str] = []
        for names in self.roles.values():
            for n in names:
                c = n.split(".", 1)[0] if "." in n else n
                if c not in out:
                    out.append(c)
        return out

    @property
    def key(self) -> str:
        return f"design_pattern:{self.pattern}:{','.join(sorted(self.participants))}"

    def tag(self) -> PatternTag:
        ev = [f"{role}: {', '.join(names)}" for role, names in self.roles.items() if names]
        return PatternTag(name=f"gof:{self.pattern}", confidence=round(min(1.0, max(0.0, self.confidence)), 2),
                          evidence=(ev + self.evidence)[:12])

    def describe(self) -> str:
        category, intent = GOF_PATTERNS.get(self.pattern, ("", ""))
        title = self.pattern.replace("_", " ").title()
        lines = [f"Design pattern: {title} ({category}) — {intent}."]
        for role, names in self.roles.items():
            if names:
                lines.append(f"{role.replace('_', ' ')}: {', '.join(names)}")
        lines.extend(self.evidence)
        lines.append(f"confidence {self.confidence:.2f}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "confidence": round(self.confidence, 3), "roles": self.roles,
                "participants": self.participants, "evidence": self.evidence, "key": self.key}


def name_hint(names: Iterable[str], words: tuple[str, ...]) -> bool:
    blob = " ".join(names).lower()
    return any(w in blob for w in words)
