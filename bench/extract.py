"""Pattern-extraction throughput: documents/s, patterns/s, median / p99 ms per document.

Corpora (each file is one document, read once before timing):

* **python stdlib** — every ``.py`` file of ``sysconfig.get_paths()['stdlib']`` up to ``--max-kb`` KB
  (``ast`` extractor: definitions, idiom tags, structural summary, GoF detection);
* **c/c++ (site-packages)** — up to ``--native-limit`` ``.c``/``.cpp``/``.h`` files found under
  site-packages (tree-sitter extractor), spread evenly over the sorted list;
* **docs (site-packages)** — ``.md``/``.rst``/``.html`` files and package long descriptions (``METADATA``)
  under site-packages (sections, practices, code examples, procedures);
* **manifests (generated)** — docker-compose, Kubernetes, Mermaid, PlantUML and architecture prose written
  into ``--mixed-dir`` (a temporary folder by default) from seeded templates (component graph, styles).

    .venv/bin/python bench/extract.py [--max-kb 50] [--native-limit 400] [--mixed-dir DIR] [--json FILE]

Target: median ≤ 10 ms per Python source file up to 50 KB on this CPU.

It then treats the whole stdlib corpus as one set, as the set agent would: the size of the
members' structural summaries (JSON, and compressed as the agent stores them) and the time of one
re-detection over all of them (:func:`processors.patterns.sets.set_patterns`, best of 3).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import sysconfig
import tempfile
import time
from email.parser import HeaderParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from processors.patterns import extract_patterns  # noqa: E402
from processors.patterns.sets import pack_member, set_patterns  # noqa: E402
from schemas.documents import Document  # noqa: E402
from schemas.sets import SetMember  # noqa: E402

TARGET_MEDIAN_MS = 10.0


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def python_stdlib(max_bytes: int) -> list[Document]:
    root = Path(sysconfig.get_paths()["stdlib"])
    docs = []
    for p in sorted(root.rglob("*.py")):
        if "site-packages" in p.parts or not p.is_file() or p.stat().st_size > max_bytes:
            continue
        text = _read(p)
        if text:
            docs.append(Document(id=str(p), type="code", content=text, version="v", language="python", uri=str(p)))
    return docs


def native_code(max_bytes: int, limit: int) -> list[Document]:
    root = Path(sysconfig.get_paths()["purelib"])
    files = sorted(p for ext in ("*.c", "*.cpp", "*.cc", "*.h", "*.hpp") for p in root.rglob(ext)
                   if p.is_file() and p.stat().st_size <= max_bytes)
    if len(files) > limit:
        step = len(files) / limit
        files = [files[int(i * step)] for i in range(limit)]
    docs = []
    for p in files:
        text = _read(p)
        if text and text.strip():
            lang = "c" if p.suffix == ".c" else ("cpp" if p.suffix in (".cpp", ".cc", ".hpp") else None)
            docs.append(Document(id=str(p), type="code", content=text, version="v", language=lang, uri=str(p)))
    return docs


def site_docs(max_bytes: int) -> list[Document]:
    root = Path(sysconfig.get_paths()["purelib"])
    docs = []
    for ext, lang in (("*.md", "markdown"), ("*.rst", "rst"), ("*.html", "html")):
        for p in sorted(root.rglob(ext)):
            if p.is_file() and p.stat().st_size <= max_bytes:
                text = _read(p)
                if text and text.strip():
                    docs.append(Document(id=str(p), type="documentation", content=text, version="v", language=lang, uri=str(p)))
    for p in sorted(root.glob("*.dist-info/METADATA")):
        text = _read(p)
        if not text:
            continue
        msg = HeaderParser().parsestr(text)
        body = msg.get_payload() if isinstance(msg.get_payload(), str) else ""
        if not body.strip() or len(body.encode()) > max_bytes:
            continue
        ctype = (msg.get("Description-Content-Type") or "").lower()
        lang = "markdown" if "markdown" in ctype else ("rst" if "rst" in ctype or not ctype else "text")
        uri = f"{p.parent.name}/README.{'md' if lang == 'markdown' else 'rst'}"
        docs.append(Document(id=str(p), type="documentation", content=body, version="v", language=lang, uri=uri))
    return docs


_SERVICES = ["orders", "users", "payments", "catalog", "search", "billing", "shipping", "inventory", "reviews",
             "notifications", "auth", "reports", "cart", "pricing", "analytics"]
_INFRA = [("postgres:16", "db"), ("mysql:8", "mysql"), ("mongo:7", "mongo"), ("redis:7", "cache"),
          ("bitnami/kafka:3.7", "kafka"), ("rabbitmq:3-management", "rabbit"), ("hashicorp/consul:1.18", "consul"),
          ("traefik:v3.0", "gateway"), ("nginx:1.27", "web")]


def _compose(rng: random.Random) -> str:
    svcs = rng.sample(_SERVICES, rng.randint(3, 8))
    infra = rng.sample(_INFRA, rng.randint(2, 5))
    out = ["services:"]
    for s in svcs:
        out += [f"  {s}:", f"    build: ./{s}", "    environment:"]
        for img, name in infra:
            if rng.random() < 0.5:
                out.append(f"      {name.upper()}_URL: {name}://{name}:1234")
        out.append(f"      PEER_URL: http://{rng.choice(svcs)}:8080")
        out.append(f"    depends_on: [{', '.join(n for _, n in infra[:2])}]")
    for img, name in infra:
        out += [f"  {name}:", f"    image: {img}"]
    return "\n".join(out) + "\n"


def _k8s(rng: random.Random) -> str:
    docs = []
    for s in rng.sample(_SERVICES, rng.randint(2, 6)):
        sidecar = "\n        - name: envoy\n          image: envoyproxy/envoy:v1.30" if rng.random() < 0.3 else ""
        docs.append(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {s}
spec:
  replicas: {rng.randint(1, 5)}
  selector:
    matchLabels: {{app: {s}}}
  template:
    metadata:
      labels: {{app: {s}}}
    spec:
      containers:
        - name: {s}
          image: acme/{s}:1.{rng.randint(0, 9)}
          env:
            - name: PEER
              value: http://{rng.choice(_SERVICES)}:8080{sidecar}
---
apiVersion: v1
kind: Service
metadata:
  name: {s}
spec:
  selector: {{app: {s}}}
  ports: [{{port: 80, targetPort: 8080}}]""")
    return "\n---\n".join(docs) + "\n"


def _mermaid(rng: random.Random) -> str:
    svcs = rng.sample(_SERVICES, rng.randint(3, 7))
    lines = ["flowchart LR", "  ui[Web UI] --> gw[API Gateway]"]
    for s in svcs:
        lines.append(f"  gw --> {s}[{s.title()} Service]")
        if rng.random() < 0.6:
            lines.append(f"  {s} --> {s}db[({s.title()} DB)]")
        if rng.random() < 0.4:
            lines.append(f"  {s} -->|publishes| bus[(Kafka)]")
    return "\n".join(lines) + "\n"


def _plantuml(rng: random.Random) -> str:
    svcs = rng.sample(_SERVICES, rng.randint(2, 5))
    lines = ["@startuml", 'database "Main DB" as db', 'queue "Events" as q']
    for s in svcs:
        lines += [f"component [{s.title()} Service] as {s}", f"{s} --> db : reads", f"{s} --> q : publishes"]
    return "\n".join(lines + ["@enduml"]) + "\n"


def _prose(rng: random.Random) -> str:
    a, b, c = rng.sample(_SERVICES, 3)
    paras = [f"# {a.title()} platform", "",
             f"The API gateway routes requests to the {a}-service and the {b}-service.",
             f"The {a}-service publishes events to Kafka and the {c}-service subscribes to Kafka.",
             "Each service owns its own database. Calls between services must go through a circuit breaker.",
             "", "## Runbook", "", "1. Drain the node.", "2. Upgrade the image.", "3. Watch the error rate.", "",
             "You should never restart more than one zone at a time."]
    return "\n".join(paras) * rng.randint(1, 4) + "\n"


def manifests(folder: Path, n: int = 40) -> list[Document]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    makers = [("docker-compose-{i}.yml", "yaml", _compose), ("k8s-{i}.yaml", "yaml", _k8s), ("flow-{i}.mmd", "mermaid", _mermaid),
              ("components-{i}.puml", "plantuml", _plantuml), ("ARCHITECTURE-{i}.md", "markdown", _prose)]
    docs = []
    for i in range(n):
        name, lang, make = makers[i % len(makers)]
        path = folder / name.format(i=i)
        path.write_text(make(rng), encoding="utf-8")
        docs.append(Document(id=str(path), type="architecture", content=path.read_text(encoding="utf-8"), version="v",
                             language=lang, uri=str(path)))
    return docs


def run(docs: list[Document]) -> dict:
    times: list[float] = []
    n_patterns = 0
    kinds: dict[str, int] = {}
    for d in docs:
        t0 = time.perf_counter()
        records = extract_patterns(d).patterns
        times.append((time.perf_counter() - t0) * 1000)
        n_patterns += len(records)
        for r in records:
            if r.kind in ("design_pattern", "architecture", "practice", "code_example", "procedure", "component"):
                kinds[r.kind] = kinds.get(r.kind, 0) + 1
    total = sum(times) / 1000
    times.sort()
    p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))] if times else 0.0
    return {"documents": len(docs), "patterns": n_patterns, "seconds": round(total, 3),
            "docs_per_s": round(len(docs) / total, 1) if total else 0.0,
            "patterns_per_s": round(n_patterns / total, 1) if total else 0.0,
            "median_ms": round(statistics.median(times), 2) if times else 0.0, "p99_ms": round(p99, 2),
            "max_ms": round(times[-1], 2) if times else 0.0, "kinds": kinds}


def set_stage(docs: list[Document]) -> dict:
    """One set made of every document: summary sizes and the time of one re-detection."""
    members = {}
    for d in docs:
        summary = extract_patterns(d).summary
        if summary is not None:
            members[d.id] = SetMember(source_version=d.version, uri=d.uri, language=d.language, summary=summary)
    json_bytes = sum(len(m.model_dump_json()) for m in members.values())
    packed_bytes = sum(len(pack_member(m)) for m in members.values())
    times = []
    records = []
    for _ in range(3):
        t0 = time.perf_counter()
        records = set_patterns("bench", members).patterns
        times.append(time.perf_counter() - t0)
    return {"members": len(members), "summary_json_mb": round(json_bytes / 1e6, 2),
            "stored_mb": round(packed_bytes / 1e6, 2), "detect_s": round(min(times), 2),
            "cross_file_detections": sum(1 for r in records if r.kind == "design_pattern"),
            "patterns_named": len(records[0].tags) if records else 0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-kb", type=int, default=50, help="skip files larger than this (KB)")
    ap.add_argument("--native-limit", type=int, default=400, help="C/C++ files to sample from site-packages")
    ap.add_argument("--mixed-dir", type=Path, default=None, help="where to write the generated manifests")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = ap.parse_args()
    max_bytes = args.max_kb * 1024
    with tempfile.TemporaryDirectory() as tmp:
        corpora = {
            "python stdlib": python_stdlib(max_bytes),
            "c/c++ (site-packages)": native_code(max_bytes, args.native_limit),
            "docs (site-packages)": site_docs(max_bytes),
            "manifests (generated)": manifests(args.mixed_dir or Path(tmp) / "mixed"),
        }
        # warm-up: imports, grammar loading, regex compilation
        for docs in corpora.values():
            for d in docs[:3]:
                extract_patterns(d)
        results = {name: run(docs) for name, docs in corpora.items()}
    all_docs = sum(r["documents"] for r in results.values())
    all_secs = sum(r["seconds"] for r in results.values())
    all_pats = sum(r["patterns"] for r in results.values())
    header = f"{'corpus':24} {'docs':>6} {'patterns':>9} {'docs/s':>8} {'patt/s':>9} {'median ms':>10} {'p99 ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        print(f"{name:24} {r['documents']:>6} {r['patterns']:>9} {r['docs_per_s']:>8} {r['patterns_per_s']:>9} "
              f"{r['median_ms']:>10} {r['p99_ms']:>8} {r['max_ms']:>8}")
    print("-" * len(header))
    print(f"{'all':24} {all_docs:>6} {all_pats:>9} {round(all_docs / all_secs, 1):>8} {round(all_pats / all_secs, 1):>9}")
    for name, r in results.items():
        if r["kinds"]:
            print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(r["kinds"].items())))
    med = results["python stdlib"]["median_ms"]
    print(f"\ntarget: median <= {TARGET_MEDIAN_MS} ms per Python file <= {args.max_kb} KB: "
          f"{med} ms -> {'PASS' if med <= TARGET_MEDIAN_MS else 'FAIL'}")
    st = set_stage(corpora["python stdlib"])
    results["set stage (stdlib as one set)"] = st
    print(f"\nset stage, the stdlib as one set: {st['members']} members, summaries {st['summary_json_mb']} MB "
          f"as JSON, {st['stored_mb']} MB stored (zlib); one re-detection {st['detect_s']} s; "
          f"{st['cross_file_detections']} cross-file detections, {st['patterns_named']} GoF patterns named")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
