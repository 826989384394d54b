#!/usr/bin/env python3
"""Validates rendered manifests offline: operator resources (KEDA, RabbitMQ, CloudNativePG) against the
small schemas in deploy/k8s/schemas (the fields Undersigned uses, unknown fields refused), everything
else with kubernetes-validate --strict. Usage: validate.py RENDERED.yaml"""
import json
import os
import subprocess
import sys
import tempfile

import jsonschema
import yaml

here = os.path.dirname(os.path.abspath(__file__))
schemas = {name[:-5]: json.load(open(os.path.join(here, "schemas", name))) for name in os.listdir(os.path.join(here, "schemas"))}
documents = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
core, failures = [], 0
for document in documents:
    kind = document.get("kind")
    if kind in schemas:
        errors = list(jsonschema.Draft202012Validator(schemas[kind]).iter_errors(document))
        for error in errors:
            print(f"{kind}/{document['metadata'].get('name')}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
        failures += len(errors)
    else:
        core.append(document)
with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
    yaml.safe_dump_all(core, f)
result = subprocess.run(["kubernetes-validate", "--strict", "--quiet", "-k", "1.30.0", f.name])
os.unlink(f.name)
print(f"{len(documents) - len(core)} operator resources checked against schemas, {len(core)} core resources by kubernetes-validate")
sys.exit(1 if failures or result.returncode else 0)
