#!/usr/bin/env python3
"""Writes kubernetes-1.28-openapi-v3.json: the OpenAPI v3 documents a v1.28 kube-apiserver serves at
/openapi/v3/<group-version>, cut down to the kinds Hadron's chart and tests use (and every schema they
reference), so the KubeAPI double can answer kubectl's client-side validation offline.

Source: the Kubernetes v1.28.0 API definitions shipped in the `kubernetes-validate` wheel on PyPI
(Apache-2.0), which holds them as JSON Schema (`type: [T, "null"]`, `$ref: #/$defs/…`); this turns
them back into the server's OpenAPI v3 shape (`type: T`, `$ref: #/components/schemas/…`).

    pip download --no-deps kubernetes-validate==1.37.0 -d /tmp/kv
    python3 make-openapi-fixture.py /tmp/kv/kubernetes_validate-1.37.0-py3-none-any.whl
"""
import json, sys, zipfile

KINDS = {
    "v1": ["ServiceAccount", "Service", "Secret", "ConfigMap", "Namespace", "Pod"],
    "apps/v1": ["Deployment", "StatefulSet"],
    "rbac.authorization.k8s.io/v1": ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
    "policy/v1": ["PodDisruptionBudget"],
    "admissionregistration.k8s.io/v1": ["ValidatingWebhookConfiguration"],
    "apiextensions.k8s.io/v1": ["CustomResourceDefinition"],
    "networking.k8s.io/v1": ["Ingress"],
    "coordination.k8s.io/v1": ["Lease"],
}

wheel = zipfile.ZipFile(sys.argv[1])
defs = json.loads(wheel.read("kubernetes_validate/kubernetes-json-schema/v1.28.0-local/_definitions.json"))["$defs"]


def to_openapi(node):
    if isinstance(node, list):
        return [to_openapi(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            out["type"] = kinds[0]
        elif key == "$ref" and isinstance(value, str):
            out["$ref"] = value.replace("#/$defs/", "#/components/schemas/")
        else:
            out[key] = to_openapi(value)
    # The server wraps a described reference in allOf, as OpenAPI v3.0 ignores siblings of $ref.
    if isinstance(out.get("$ref"), str) and len(out) > 1:
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}]
    return out


def refs(node, found):
    if isinstance(node, list):
        for x in node:
            refs(x, found)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                name = value.split("/")[-1]
                if name not in found:
                    found.add(name)
                    refs(defs[name], found)
            else:
                refs(value, found)


documents = {}
for group_version, kinds in KINDS.items():
    group, _, version = group_version.rpartition("/")
    roots = [
        name for name, schema in defs.items()
        if any(g["group"] == group and g["version"] == version and g["kind"] in kinds
               for g in schema.get("x-kubernetes-group-version-kind", []))
    ]
    assert len(roots) == len(kinds), (group_version, roots)
    names = set(roots)
    for root in roots:
        refs(defs[root], names)
    path = "api/v1" if group == "" else f"apis/{group_version}"
    documents[path] = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.28.0"},
        "paths": {},
        "components": {"schemas": {name: to_openapi(defs[name]) for name in sorted(names)}},
    }

with open("kubernetes-1.28-openapi-v3.json", "w") as f:
    json.dump(documents, f, sort_keys=True, separators=(",", ":"))
    f.write("\n")
