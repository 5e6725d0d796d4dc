"""docker-compose and Kubernetes manifests → components and relations of the graph."""

from __future__ import annotations

import re
from typing import Any, Iterable

import yaml

from processors.patterns.architecture.graph_builder import GraphBuilder, relation_for
from processors.patterns.architecture.kinds import CIRCUIT_BREAKER_KEYS, SIDECAR_IMAGES, infer_kind
from processors.patterns.architecture.yaml_nodes import child, mapping_items, scalar

__all__ = ["add_compose", "add_kubernetes"]

def _strings(node: Any, limit: int = 500) -> list[tuple[int, str, str]]:
    """``(line, key path, scalar)`` of every scalar under ``node``."""
    out: list[tuple[int, str, str]] = []
    stack: list[tuple[Any, str]] = [(node, "")]
    while stack and len(out) < limit:
        n, path = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            out.append((n.start_mark.line + 1, path, str(n.value)))
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                ks = scalar(k) or ""
                stack.append((v, f"{path}.{ks}" if path else ks))
                if isinstance(v, yaml.ScalarNode):
                    pass
        elif isinstance(n, yaml.SequenceNode):
            for v in n.value:
                stack.append((v, path))
    return out


def _env_pairs(env: Any) -> list[tuple[int, str, str]]:
    """Environment entries as ``(line, NAME, value)`` from a mapping, ``K=V`` strings, or k8s ``name/value``."""
    out: list[tuple[int, str, str]] = []
    if isinstance(env, yaml.MappingNode):
        for k, v in env.value:
            val = scalar(v)
            if val is not None:
                out.append((v.start_mark.line + 1, scalar(k) or "", val))
    elif isinstance(env, yaml.SequenceNode):
        for item in env.value:
            s = scalar(item)
            if s is not None and "=" in s:
                k, _, v = s.partition("=")
                out.append((item.start_mark.line + 1, k, v))
            elif isinstance(item, yaml.MappingNode):
                n, v = scalar(child(item, "name")), child(item, "value")
                if n and scalar(v) is not None:
                    out.append((v.start_mark.line + 1, n, scalar(v)))
    return out


def _refs(value: str, names: Iterable[str]) -> list[str]:
    """Service names used as host names in ``value`` (``db:5432``, ``http://orders/``, ``orders.svc``)."""
    out = []
    low = value.lower()
    for n in names:
        if len(n) < 2:
            continue
        if re.search(r"(?:^|[/@=,\s])" + re.escape(n) + r"(?:$|[:/.,\s?])", low):
            out.append(n)
    return out


def add_compose(b: GraphBuilder, root: Any) -> None:
    services = child(root, "services")
    if not isinstance(services, yaml.MappingNode):
        return
    b.sources.add("docker-compose")
    names = []
    for name, svc in mapping_items(services):
        if not name:
            continue
        image = scalar(child(svc, "image")) or ""
        build = child(svc, "build")
        labels = " ".join(v for _, _, v in _strings(child(svc, "labels"), 50)) if child(svc, "labels") is not None else ""
        cmd = scalar(child(svc, "command")) or ""
        key = b.node(name, line=svc.start_mark.line + 1, hints=(image, labels if "traefik" in labels else "", cmd),
                     source="docker-compose")
        if key is None:
            continue
        b.g.nodes[key]["extra"].update({"image": image, "build": build is not None})
        if build is not None or b.g.nodes[key]["kind"] in ("service", "worker"):
            b.g.nodes[key]["extra"]["app"] = True
        names.append((name, key, svc))
    keys = {n.lower(): k for n, k, _ in names}
    for name, key, svc in names:
        deps = child(svc, "depends_on")
        dep_names = []
        if isinstance(deps, yaml.SequenceNode):
            dep_names = [(scalar(d), d.start_mark.line + 1) for d in deps.value]
        elif isinstance(deps, yaml.MappingNode):
            dep_names = [(scalar(k), k.start_mark.line + 1) for k, _ in deps.value]
        links = child(svc, "links")
        if isinstance(links, yaml.SequenceNode):
            dep_names += [((scalar(d) or "").split(":")[0], d.start_mark.line + 1) for d in links.value]
        for d, line in dep_names:
            t = keys.get((d or "").lower())
            if t:
                b.edge(key, t, "depends_on", line=line)
                for rel in relation_for(b.g.nodes[t]["kind"]):
                    if rel != "depends_on":
                        b.edge(key, t, rel, line=line)
        for line, var, val in _env_pairs(child(svc, "environment")):
            for ref in _refs(val, keys):
                t = keys[ref]
                for rel in relation_for(b.g.nodes[t]["kind"], var):
                    b.edge(key, t, rel, line=line, label=var)
            if CIRCUIT_BREAKER_KEYS.search(var) or CIRCUIT_BREAKER_KEYS.search(val):
                b.config_evidence.append((line, f"{name}: {var}={val}"[:120]))
        nm = scalar(child(svc, "network_mode")) or ""
        if nm.startswith("service:"):
            t = keys.get(nm.split(":", 1)[1].lower())
            if t:
                b.g.nodes[key]["extra"]["sidecar_of"] = t
                b.edge(key, t, "depends_on", line=svc.start_mark.line + 1, label="network_mode")
        for line, path, val in _strings(svc, 200):
            if CIRCUIT_BREAKER_KEYS.search(path) or CIRCUIT_BREAKER_KEYS.search(val):
                b.config_evidence.append((line, f"{name}: {path}={val}"[:120]))


_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet", "DeploymentConfig",
              "Rollout", "KnativeService"}


def add_kubernetes(b: GraphBuilder, docs: list[Any]) -> None:
    objs = []
    for root in docs:
        if not isinstance(root, yaml.MappingNode):
            continue
        kind = scalar(child(root, "kind"))
        if kind == "List":
            items = child(root, "items")
            if isinstance(items, yaml.SequenceNode):
                objs.extend(i for i in items.value if isinstance(i, yaml.MappingNode))
            continue
        if kind and child(root, "metadata") is not None:
            objs.append(root)
    if not objs:
        return
    b.sources.add("kubernetes")
    services: dict[str, tuple[str, dict[str, str], int]] = {}  # name → (node, selector, line)
    workloads: list[tuple[str, dict[str, str], Any]] = []
    for o in objs:
        kind = scalar(child(o, "kind")) or ""
        meta = child(o, "metadata")
        name = scalar(child(meta, "name")) or ""
        line = o.start_mark.line + 1
        if not name:
            continue
        if kind in _WORKLOADS:
            spec = child(o, "spec")
            tmpl = child(spec, "template") if kind != "Pod" else o
            if kind == "CronJob":
                tmpl = child(child(child(child(spec, "jobTemplate"), "spec"), "template"), "spec") and child(child(child(spec, "jobTemplate"), "spec"), "template")
            pod_meta = child(tmpl, "metadata")
            labels = {k: scalar(v) or "" for k, v in mapping_items(child(pod_meta, "labels"))}
            annotations = {k: scalar(v) or "" for k, v in mapping_items(child(pod_meta, "annotations"))}
            pod_spec = child(tmpl, "spec")
            containers = child(pod_spec, "containers")
            images = []
            cnodes = containers.value if isinstance(containers, yaml.SequenceNode) else []
            for cn in cnodes:
                images.append((scalar(child(cn, "name")) or "", scalar(child(cn, "image")) or "", cn))
            main_img = images[0][1] if images else ""
            key = b.node(name, line=line, hints=(main_img, kind if kind in ("Job", "CronJob") else ""),
                         source="kubernetes")
            if key is None:
                continue
            b.g.nodes[key]["extra"].update({"k8s_kind": kind, "app": True, "image": main_img})
            if kind == "StatefulSet" and b.g.nodes[key]["kind"] == "service":
                b.g.nodes[key]["kind"] = infer_kind(name, main_img)
            sidecars = [f"{cname} ({img})" for cname, img, _ in images[1:] if any(s in (img + cname).lower() for s in SIDECAR_IMAGES)]
            if annotations.get("sidecar.istio.io/inject", "").lower() == "true" or "linkerd.io/inject" in annotations:
                sidecars.append("service mesh proxy (injected)")
            if sidecars:
                b.g.nodes[key]["extra"]["sidecars"] = sidecars
                b.config_evidence.append((line, f"{name}: sidecar {', '.join(sidecars)}"))
            workloads.append((key, labels, o))
            for cname, img, cn in images:
                for eline, var, val in _env_pairs(child(cn, "env")):
                    b.g.nodes[key]["extra"].setdefault("env", []).append((eline, var, val))
                ef = child(cn, "envFrom")
                for ln, path, val in _strings(ef, 20) if ef is not None else []:
                    if path.endswith("name"):
                        t = b.node(val, kind="config", line=ln, source="kubernetes")
                        b.edge(key, t, "reads", line=ln)
            for ln, path, val in _strings(o, 400):
                if CIRCUIT_BREAKER_KEYS.search(path) or CIRCUIT_BREAKER_KEYS.search(val):
                    b.config_evidence.append((ln, f"{name}: {path}={val}"[:120]))
                if path.endswith(("configMapKeyRef.name", "configMap.name", "secretKeyRef.name", "secret.secretName")):
                    t = b.node(val, kind="config", line=ln, source="kubernetes")
                    b.edge(key, t, "reads", line=ln)
        elif kind == "Service":
            spec = child(o, "spec")
            selector = {k: scalar(v) or "" for k, v in mapping_items(child(spec, "selector"))}
            stype = scalar(child(spec, "type")) or ""
            services[name] = (name, selector, line)
            if stype == "LoadBalancer":
                b.config_evidence.append((line, f"Service {name} type LoadBalancer"))
        elif kind in ("Ingress", "Gateway", "HTTPRoute", "VirtualService", "IngressRoute"):
            key = b.node(name, kind="gateway", line=line, source="kubernetes")
            b.g.nodes[key]["extra"]["k8s_kind"] = kind
            for ln, path, val in _strings(o, 300):
                if path.endswith(("service.name", "serviceName", "backendRefs.name", "destination.host", "services.name")):
                    b.g.nodes[key]["extra"].setdefault("routes", []).append((ln, val.split(".")[0]))
        elif kind in ("ConfigMap", "Secret"):
            b.node(name, kind="config", line=line, source="kubernetes")
        elif kind == "DestinationRule":
            for ln, path, val in _strings(o, 200):
                if CIRCUIT_BREAKER_KEYS.search(path) or "connectionPool" in path:
                    b.config_evidence.append((ln, f"DestinationRule {name}: {path}"[:120]))
        elif kind == "HorizontalPodAutoscaler":
            b.config_evidence.append((line, f"HorizontalPodAutoscaler {name}"))
    # Services select workloads: map service name → workload node
    svc_target: dict[str, str] = {}
    for sname, (_, selector, line) in services.items():
        for wkey, labels, _ in workloads:
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                svc_target[sname.lower()] = wkey
        if sname.lower() not in svc_target:
            k = b.node(sname, line=line, source="kubernetes")
            if k:
                svc_target[sname.lower()] = k
    for node in list(b.g.nodes):
        for ln, target in b.g.nodes[node]["extra"].get("routes", []):
            t = svc_target.get(target.lower()) or b.node(target, line=ln, source="kubernetes")
            b.edge(node, t, "routes", line=ln)
    for wkey, _, _ in workloads:
        svc_target.setdefault(wkey, wkey)
    names = set(svc_target)
    for wkey, _, _ in workloads:
        for ln, var, val in b.g.nodes[wkey]["extra"].get("env", []):
            for ref in _refs(val, names):
                t = svc_target[ref]
                for rel in relation_for(b.g.nodes[t]["kind"], var):
                    b.edge(wkey, t, rel, line=ln, label=var)
