#!/usr/bin/env python3
"""Validates deploy/ without a cluster, a Docker engine or a Grafana (scripts/lib/ops-checks.sh
runs it inside its virtualenv, after promtool's own checks):

* Kubernetes: renders deploy/k8s/base and every overlay with `kubectl kustomize`; validates the
  core kinds strictly against the Kubernetes schemas (kubernetes-validate, offline) and the
  custom resources (Strimzi, CloudNativePG, KEDA, Prometheus Operator) against the fields
  bondgate relies on; then cross-checks the objects: references to ConfigMaps, Secrets,
  Deployments, ports and labels resolve, probes and the security context are there, topics are
  bondgate's, clearance never scales past the documents topic's partitions, and each overlay
  patch hits exactly one object.
* Grafana: the dashboard's structure, its datasource matches the provisioning, and every panel
  query is valid PromQL (promtool checks them as recording rules) on declared metric names.
* Compose: every published port is on 127.0.0.1 and every mounted file exists (the compose-spec
  schema check is done by check-jsonschema beforehand).

Prints every problem and exits 1 when there is one.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import jsonschema
import kubernetes_validate
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
# BONDGATE_DEPLOY_DIR checks another copy (used to prove that a broken manifest fails).
DEPLOY = pathlib.Path(os.environ.get("BONDGATE_DEPLOY_DIR", ROOT / "deploy")).resolve()
PROMTOOL = os.environ.get("BONDGATE_PROMTOOL", "promtool")
KUBECTL = os.environ.get("BONDGATE_KUBECTL", "kubectl")

# Topics of crates/kafka/src/config.rs (TopicsConfig::default).
TOPICS = {"cbec.documents.v1", "cbec.receipts.v1", "cbec.dlq.v1"}
# Secrets created outside the manifests, with the keys the workloads may read.
OUT_OF_BAND_SECRETS = {
    # Written by CloudNativePG for the Cluster's owner (`<cluster>-app`).
    "bondgate-db-app": {"uri", "username", "password", "host", "port", "dbname"},
    # Created by the operator of the installation (overlays/production/security-secret.example.yaml).
    "bondgate-security": {"data_key_hex", "buyer_hash_key_hex"},
}
CORE_KINDS = {
    "Namespace", "ConfigMap", "Secret", "Service", "Deployment", "Job",
    "PodDisruptionBudget", "ServiceAccount", "NetworkPolicy",
}

problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def obj(properties, required=(), extra=True):
    schema = {"type": "object", "properties": properties, "required": list(required)}
    if not extra:
        schema["additionalProperties"] = False
    return schema


STRING = {"type": "string"}
INT = {"type": "integer"}
METADATA = obj({"name": STRING, "namespace": STRING, "labels": {"type": "object"}}, ["name"])
RESOURCES = obj({"requests": {"type": "object"}, "limits": {"type": "object"}})
STORAGE = obj({
    "type": {"enum": ["jbod", "persistent-claim", "ephemeral"]},
    "volumes": {"type": "array", "items": obj({
        "id": INT, "type": {"enum": ["persistent-claim", "ephemeral"]}, "size": STRING,
        "kraftMetadata": {"enum": ["shared"]}, "deleteClaim": {"type": "boolean"},
    }, ["id", "type"], extra=False)},
}, ["type"])

# The fields bondgate relies on, per custom resource (from the operators' API references:
# Strimzi kafka.strimzi.io/v1, CloudNativePG postgresql.cnpg.io/v1, KEDA keda.sh/v1alpha1,
# Prometheus Operator monitoring.coreos.com/v1). Unknown fields are refused where bondgate sets
# the whole object, so a misspelt field fails here rather than being ignored by the operator.
CRD_SCHEMAS = {
    ("kafka.strimzi.io/v1", "Kafka"): obj({"metadata": METADATA, "spec": obj({
        "kafka": obj({
            "version": STRING,
            "metadataVersion": STRING,
            "listeners": {"type": "array", "minItems": 1, "items": obj({
                "name": {"type": "string", "pattern": "^[a-z0-9]{1,11}$"}, "port": INT,
                "type": {"enum": ["internal", "route", "loadbalancer", "nodeport", "ingress",
                                  "cluster-ip"]},
                "tls": {"type": "boolean"},
            }, ["name", "port", "type", "tls"], extra=False)},
            "config": {"type": "object"},
        }, ["listeners"], extra=False),
        "entityOperator": obj({"topicOperator": {"type": "object"},
                               "userOperator": {"type": "object"}}, extra=False),
    }, ["kafka"], extra=False)}, ["metadata", "spec"]),
    ("kafka.strimzi.io/v1", "KafkaNodePool"): obj({"metadata": METADATA, "spec": obj({
        "replicas": {"type": "integer", "minimum": 1},
        "roles": {"type": "array", "minItems": 1,
                  "items": {"enum": ["controller", "broker"]}},
        "storage": STORAGE,
        "resources": RESOURCES,
        "jvmOptions": {"type": "object"},
        "template": {"type": "object"},
    }, ["replicas", "roles", "storage"], extra=False)}, ["metadata", "spec"]),
    ("kafka.strimzi.io/v1", "KafkaTopic"): obj({"metadata": METADATA, "spec": obj({
        "topicName": STRING,
        "partitions": {"type": "integer", "minimum": 1},
        "replicas": {"type": "integer", "minimum": 1},
        "config": {"type": "object"},
    }, ["partitions", "replicas"], extra=False)}, ["metadata", "spec"]),
    ("postgresql.cnpg.io/v1", "Cluster"): obj({"metadata": METADATA, "spec": obj({
        "instances": {"type": "integer", "minimum": 1},
        "imageName": STRING,
        "primaryUpdateStrategy": {"enum": ["unsupervised", "supervised"]},
        "bootstrap": obj({"initdb": obj({"database": STRING, "owner": STRING,
                                         "secret": obj({"name": STRING}, ["name"])},
                                        ["database", "owner"])}),
        "postgresql": obj({"parameters": {"type": "object",
                                          "additionalProperties": STRING}}),
        "storage": obj({"size": STRING, "storageClass": STRING}, ["size"]),
        "resources": RESOURCES,
        "monitoring": obj({"enablePodMonitor": {"type": "boolean"}}),
    }, ["instances", "storage"], extra=False)}, ["metadata", "spec"]),
    ("keda.sh/v1alpha1", "ScaledObject"): obj({"metadata": METADATA, "spec": obj({
        "scaleTargetRef": obj({"name": STRING, "kind": STRING, "apiVersion": STRING},
                              ["name"], extra=False),
        "minReplicaCount": {"type": "integer", "minimum": 0},
        "maxReplicaCount": {"type": "integer", "minimum": 1},
        "pollingInterval": INT,
        "cooldownPeriod": INT,
        "advanced": obj({"horizontalPodAutoscalerConfig": obj({"behavior": {"type": "object"}})}),
        "triggers": {"type": "array", "minItems": 1, "items": obj({
            "type": STRING,
            "metadata": {"type": "object", "additionalProperties": STRING},
            "authenticationRef": obj({"name": STRING}, ["name"]),
        }, ["type", "metadata"], extra=False)},
    }, ["scaleTargetRef", "triggers"], extra=False)}, ["metadata", "spec"]),
    ("monitoring.coreos.com/v1", "PodMonitor"): obj({"metadata": METADATA, "spec": obj({
        "selector": obj({"matchLabels": {"type": "object"}}, ["matchLabels"]),
        "podMetricsEndpoints": {"type": "array", "minItems": 1, "items": obj({
            "port": STRING, "path": STRING, "interval": STRING,
            "relabelings": {"type": "array", "items": obj({
                "sourceLabels": {"type": "array"}, "targetLabel": STRING,
                "replacement": STRING, "regex": STRING, "action": STRING,
            }, extra=False)},
        }, ["port"], extra=False)},
    }, ["selector", "podMetricsEndpoints"], extra=False)}, ["metadata", "spec"]),
}


def render(folder):
    result = subprocess.run([KUBECTL, "kustomize", str(folder)], capture_output=True, text=True)
    if result.returncode != 0:
        problem(folder.relative_to(DEPLOY.parent), f"kustomize failed: {result.stderr.strip()}")
        return []
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def name_of(doc):
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def validate_schema(where, doc, k8s_version):
    kind, api = doc.get("kind"), doc.get("apiVersion")
    if kind in CORE_KINDS:
        try:
            kubernetes_validate.validate(doc, k8s_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = "/".join(str(p) for p in error.path)
            problem(where, f"{name_of(doc)}: {error.message} (at {path})")
        except kubernetes_validate.SchemaNotFoundError:
            problem(where, f"{name_of(doc)}: no Kubernetes {k8s_version} schema for {api}")
        return
    schema = CRD_SCHEMAS.get((api, kind))
    if schema is None:
        problem(where, f"{name_of(doc)}: {api} {kind} is neither a core kind nor a known CRD")
        return
    for error in jsonschema.Draft7Validator(schema).iter_errors(doc):
        path = "/".join(str(p) for p in error.path)
        problem(where, f"{name_of(doc)}: {error.message} (at {path})")


def pod_templates(docs):
    """(workload, pod template spec, pod labels) of Deployments and Jobs."""
    for doc in docs:
        if doc.get("kind") in ("Deployment", "Job"):
            template = doc["spec"]["template"]
            yield doc, template["spec"], template.get("metadata", {}).get("labels", {})


def check_workloads(where, docs):
    config_maps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    secrets = {d["metadata"]["name"]: set(d.get("data", {})) | set(d.get("stringData", {}))
               for d in docs if d["kind"] == "Secret"}
    secrets.update({k: v for k, v in OUT_OF_BAND_SECRETS.items() if k not in secrets})
    for doc, spec, _labels in pod_templates(docs):
        who = f"{where}: {name_of(doc)}"
        security = spec.get("securityContext", {})
        if security.get("runAsNonRoot") is not True:
            problem(who, "pod securityContext.runAsNonRoot must be true")
        if spec.get("automountServiceAccountToken") is not False:
            problem(who, "automountServiceAccountToken must be false (no API access needed)")
        for container in spec.get("containers", []):
            cwho = f"{who} container {container['name']}"
            csec = container.get("securityContext", {})
            if csec.get("readOnlyRootFilesystem") is not True:
                problem(cwho, "readOnlyRootFilesystem must be true")
            if csec.get("allowPrivilegeEscalation") is not False:
                problem(cwho, "allowPrivilegeEscalation must be false")
            if "ALL" not in csec.get("capabilities", {}).get("drop", []):
                problem(cwho, "capabilities must drop ALL")
            resources = container.get("resources", {})
            if "memory" not in resources.get("limits", {}) or not resources.get("requests"):
                problem(cwho, "needs resource requests and a memory limit")
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef", {}).get("name")
                if ref and ref not in config_maps:
                    problem(cwho, f"envFrom ConfigMap {ref} does not exist")
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["key"] not in secrets.get(ref["name"], set()):
                    problem(cwho, f"{env['name']}: Secret {ref['name']} has no key {ref['key']}")
            if doc["kind"] == "Deployment":
                ports = {p.get("name") for p in container.get("ports", [])}
                for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                    get = container.get(probe, {}).get("httpGet", {})
                    if get.get("path") != path or get.get("port") not in ports:
                        problem(cwho, f"{probe} must GET {path} on a named container port")


def check_references(where, docs):
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    pods = list(pod_templates(docs))
    for doc in docs:
        ns = doc["metadata"].get("namespace")
        if doc["kind"] != "Namespace" and ns != "bondgate":
            problem(where, f"{name_of(doc)}: namespace {ns!r}, expected bondgate")
    for service in by_kind.get("Service", {}).values():
        selector = service["spec"].get("selector", {})
        matches = [(d, s) for d, s, labels in pods
                   if d["kind"] == "Deployment" and selector.items() <= labels.items()]
        if len(matches) != 1:
            problem(where, f"{name_of(service)}: selects {len(matches)} Deployments, expected 1")
            continue
        ports = {p.get("name") for c in matches[0][1]["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            if port.get("targetPort") not in ports:
                problem(where, f"{name_of(service)}: targetPort {port.get('targetPort')} unknown")
    for pdb in by_kind.get("PodDisruptionBudget", {}).values():
        selector = pdb["spec"]["selector"]["matchLabels"]
        if not any(selector.items() <= labels.items() for _d, _s, labels in pods):
            problem(where, f"{name_of(pdb)}: selects no pod")
    kafkas = by_kind.get("Kafka", {})
    if len(kafkas) != 1:
        problem(where, f"expected one Kafka, found {len(kafkas)}")
    roles = set()
    for pool in by_kind.get("KafkaNodePool", {}).values():
        if pool["metadata"].get("labels", {}).get("strimzi.io/cluster") not in kafkas:
            problem(where, f"{name_of(pool)}: strimzi.io/cluster names no Kafka")
        roles.update(pool["spec"]["roles"])
    if roles != {"controller", "broker"}:
        problem(where, f"KRaft node pools must cover controller and broker roles, got {roles}")
    topics = {}
    for topic in by_kind.get("KafkaTopic", {}).values():
        if topic["metadata"].get("labels", {}).get("strimzi.io/cluster") not in kafkas:
            problem(where, f"{name_of(topic)}: strimzi.io/cluster names no Kafka")
        topics[topic["spec"].get("topicName", topic["metadata"]["name"])] = topic
    if set(topics) != TOPICS:
        problem(where, f"topics {sorted(topics)} differ from bondgate's {sorted(TOPICS)}")
    clusters = by_kind.get("Cluster", {})
    for cluster in clusters:
        if f"{cluster}-app" not in OUT_OF_BAND_SECRETS:
            problem(where, f"Cluster/{cluster}: its Secret {cluster}-app is not the one read")
    documents = topics.get("cbec.documents.v1", {}).get("spec", {}).get("partitions", 0)
    deployments = by_kind.get("Deployment", {})
    for scaled in by_kind.get("ScaledObject", {}).values():
        target = scaled["spec"]["scaleTargetRef"]["name"]
        if target not in deployments:
            problem(where, f"{name_of(scaled)}: scales Deployment {target}, which does not exist")
        elif "replicas" in deployments[target]["spec"]:
            problem(where, f"Deployment/{target}: fixes replicas although a ScaledObject owns them")
        if scaled["spec"].get("maxReplicaCount", 100) > documents:
            problem(where, f"{name_of(scaled)}: maxReplicaCount "
                           f"{scaled['spec'].get('maxReplicaCount')} exceeds the {documents} "
                           "partitions of cbec.documents.v1 (extra instances sit idle)")
        for trigger in scaled["spec"]["triggers"]:
            query = trigger["metadata"].get("query", "")
            if trigger["type"] == "prometheus" and "bondgate_clearance_consumer_lag_records" not in query:
                problem(where, f"{name_of(scaled)}: the trigger does not read the consumer lag")
    for monitor in by_kind.get("PodMonitor", {}).values():
        selector = monitor["spec"]["selector"]["matchLabels"]
        selected = [(d, s) for d, s, labels in pods
                    if d["kind"] == "Deployment" and selector.items() <= labels.items()]
        if len(selected) != len(deployments):
            problem(where, f"{name_of(monitor)}: selects {len(selected)} of "
                           f"{len(deployments)} Deployments")
        wanted = {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]}
        for deployment, spec in selected:
            ports = {p.get("name") for c in spec["containers"] for p in c.get("ports", [])}
            if not ports & wanted:
                problem(where, f"{name_of(monitor)}: no endpoint scrapes {name_of(deployment)}")


def check_patches(overlay, docs):
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    for patch in kustomization.get("patches", []):
        target = patch.get("target", {})
        hits = [d for d in docs
                if d["kind"] == target.get("kind") and d["metadata"]["name"] == target.get("name")]
        if len(hits) != 1:
            problem(overlay.relative_to(DEPLOY.parent), f"patch target {target} matches {len(hits)} objects")
    for replica in kustomization.get("replicas", []):
        if not any(d["kind"] == "Deployment" and d["metadata"]["name"] == replica["name"]
                   for d in docs):
            problem(overlay.relative_to(DEPLOY.parent), f"replicas for unknown Deployment {replica['name']}")


def check_kubernetes():
    version = kubernetes_validate.latest_version()
    k8s = DEPLOY / "k8s"
    folders = [k8s / "base"] + sorted(p for p in (k8s / "overlays").iterdir() if p.is_dir())
    for folder in folders:
        where = folder.relative_to(DEPLOY.parent)
        docs = render(folder)
        if not docs:
            continue
        for doc in docs:
            validate_schema(where, doc, version)
        if problems:
            continue
        check_workloads(where, docs)
        check_references(where, docs)
        if folder.parent.name == "overlays":
            check_patches(folder, docs)
        print(f"  {where}: {len(docs)} objects rendered and checked")
    for example in k8s.glob("overlays/*/*.example.yaml"):
        for doc in yaml.safe_load_all(example.read_text()):
            validate_schema(example.relative_to(DEPLOY.parent), doc, version)
            if doc.get("kind") == "Secret":
                keys = set(doc.get("stringData", {}))
                expected = OUT_OF_BAND_SECRETS.get(doc["metadata"]["name"])
                if keys != expected:
                    problem(example.relative_to(DEPLOY.parent), f"keys {keys} differ from {expected}")


def declared_metrics():
    names = set()
    for source in list(ROOT.glob("services/*/src/**/*.rs")) + list(ROOT.glob("crates/telemetry/src/*.rs")):
        names.update(re.findall(r'"(bondgate_[a-z0-9_]+)"', source.read_text()))
    return names


def check_grafana():
    dashboards = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
    if not dashboards:
        problem("deploy/grafana/dashboards", "no dashboard")
    provisioning = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yaml").read_text())
    datasource_uids = {d["uid"] for d in provisioning["datasources"]}
    declared = declared_metrics()
    for path in dashboards:
        where = path.relative_to(DEPLOY.parent)
        try:
            dashboard = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            problem(where, f"not JSON: {error}")
            continue
        for field in ("uid", "title", "panels", "schemaVersion"):
            if field not in dashboard:
                problem(where, f"no {field}")
        variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
        default = variables.get("datasource", {}).get("current", {}).get("value")
        if default not in datasource_uids:
            problem(where, f"default datasource {default!r} is not provisioned ({datasource_uids})")
        ids, rules = set(), []
        for panel in dashboard.get("panels", []):
            if panel.get("id") in ids:
                problem(where, f"panel id {panel.get('id')} repeated")
            ids.add(panel.get("id"))
            if "gridPos" not in panel or not panel.get("title"):
                problem(where, f"panel {panel.get('id')} lacks a title or a gridPos")
            if panel.get("type") == "row":
                continue
            if panel.get("datasource", {}).get("uid") != "${datasource}":
                problem(where, f"panel {panel['title']!r} does not use the datasource variable")
            if not panel.get("description"):
                problem(where, f"panel {panel['title']!r} has no description")
            targets = panel.get("targets", [])
            if not targets:
                problem(where, f"panel {panel['title']!r} has no query")
            for target in targets:
                expr = target.get("expr", "")
                for name in re.findall(r"\bbondgate_[a-z0-9_]+", expr):
                    family = re.sub(r"_(bucket|sum|count)$", "", name)
                    if name not in declared and family not in declared:
                        problem(where, f"panel {panel['title']!r}: {name} is declared by no service")
                concrete = expr.replace("$__rate_interval", "5m").replace("$__range", "1h")
                rules.append({"record": f"panel:{panel['id']}:{target['refId']}", "expr": concrete})
        # promtool parses every query as a recording rule: a PromQL syntax error fails here.
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as rule_file:
            yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, rule_file)
        result = subprocess.run([PROMTOOL, "check", "rules", rule_file.name],
                                capture_output=True, text=True)
        os.unlink(rule_file.name)
        if result.returncode != 0:
            problem(where, f"invalid PromQL:\n{result.stdout}{result.stderr}")
        else:
            print(f"  {where}: {len(rules)} panel queries are valid PromQL on declared metrics")
    providers = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/bondgate.yaml").read_text())["providers"]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    for provider in providers:
        if not any(m.split(":")[1] == provider["options"]["path"] for m in mounts):
            problem("deploy/grafana/provisioning", f"{provider['options']['path']} is not mounted")


def check_compose():
    where = "deploy/compose.yaml"
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                problem(where, f"{name}: port {port} is not bound to 127.0.0.1")
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith(".") and not (DEPLOY / source).exists():
                problem(where, f"{name}: {source} does not exist")
        for dependency in service.get("depends_on", {}):
            if dependency not in compose["services"]:
                problem(where, f"{name}: depends on unknown service {dependency}")
    print(f"  {where}: {len(compose['services'])} services checked")


def main():
    check_kubernetes()
    check_grafana()
    check_compose()
    if problems:
        print("\n".join(f"PROBLEM {p}" for p in problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
