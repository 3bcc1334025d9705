#!/usr/bin/env python3
"""Extract the Shipment entity (paths + every definition they reference) from the official
Acumatica endpoint definitions. Usage: extract.py SRC_DIR OUT_DIR (see README.md)."""
import json, sys, re

def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.add(v)
            else:
                refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)

def resolve(doc, ref):
    parts = ref.lstrip("#/").split("/")
    node = doc
    for p in parts:
        node = node[p.replace("~1", "/").replace("~0", "~")]
    return parts, node

def closure(doc, roots):
    seen, todo = set(), set()
    refs(roots, todo)
    while todo:
        r = todo.pop()
        if r in seen:
            continue
        seen.add(r)
        _, node = resolve(doc, r)
        refs(node, todo)
    return seen

def extract(src, dst):
    doc = json.load(open(src))
    paths = {p: v for p, v in doc["paths"].items() if p == "/Shipment" or p.startswith("/Shipment/")}
    out = {k: v for k, v in doc.items() if k not in ("paths", "definitions", "components", "tags")}
    out["paths"] = paths
    for r in sorted(closure(doc, paths)):
        parts, node = resolve(doc, r)
        cur = out
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = node
    if "components" in doc and "securitySchemes" in doc["components"]:
        out.setdefault("components", {})["securitySchemes"] = doc["components"]["securitySchemes"]
    if "tags" in doc:
        out["tags"] = [t for t in doc["tags"] if t.get("name") == "Shipment"]
    json.dump(out, open(dst, "w"), indent=1, sort_keys=False)
    print(dst, len(paths), "paths")

src, dst = sys.argv[1], sys.argv[2]
extract(f"{src}/Default_23.200.001.swagger.json", f"{dst}/Shipment_Default_23.200.001.swagger.json")
extract(f"{src}/Default_24.200.001.openapi.json", f"{dst}/Shipment_Default_24.200.001.openapi.json")
