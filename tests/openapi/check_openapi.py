#!/usr/bin/env python3
"""Every proto/openapi/*.yaml is valid YAML, an OpenAPI 3 document, and each
$ref resolves (local '#/...' and 'other.yaml#/...'). The per-service tests
check paths against the routers; this one catches what their line-based
reader cannot: a document that a real OpenAPI tool would refuse to load.

usage: check_openapi.py DIR
"""
import pathlib
import sys

import yaml


def resolve(doc, ref):
    node = doc
    pointer = ref.partition("#")[2]
    for part in filter(None, pointer.split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def refs(node, where=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where, v
            else:
                yield from refs(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from refs(v, f"{where}/{i}")


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    docs, errors = {}, []

    def load(path):  # JSON Schema files referenced from a document are YAML too
        if path not in docs:
            docs[path] = yaml.safe_load(path.read_text(encoding="utf-8"))
        return docs[path]

    checked = []
    for path in sorted(root.glob("*.yaml")):
        try:
            doc = load(path)
        except yaml.YAMLError as e:
            errors.append(f"{path.name}: not valid YAML: {e}")
            continue
        checked.append(path)
        if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3."):
            errors.append(f"{path.name}: no 'openapi: 3.x' at the top")
            continue
        for where, ref in refs(doc):
            file = ref.partition("#")[0]
            target = (path.parent / file).resolve() if file else path
            try:
                ok = target.is_file() and resolve(load(target), ref)
            except yaml.YAMLError as e:
                errors.append(f"{path.name}{where}: {file} does not parse: {e}")
                continue
            if not ok:
                errors.append(f"{path.name}{where}: $ref does not resolve: {ref}")
    for e in errors:
        print(e, file=sys.stderr)
    print(f"{len(checked)} documents checked, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
