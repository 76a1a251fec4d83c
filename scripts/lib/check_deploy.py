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
* Kafka security: every listener authenticates and the services use an authenticated TLS one;
  one KafkaUser per service that talks to Kafka (none for review) with exactly the ACLs it
  needs, all literal, on bondgate's topics and clearance's group, never `All`; each Deployment
  reads its own user's password and the cluster CA.
* Network policies: a default-deny, a policy of its own for every pod the namespace runs (ours
  and the operators', labelled as Strimzi and CloudNativePG label them), every selector matches
  something, every path the system needs is open at both ends, and the services' traffic is
  exactly what they need (Kafka, PostgreSQL, DNS; review no Kafka).
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
# Keys of the Secrets the operators write: Strimzi's User Operator one per SCRAM KafkaUser
# (named like the user), its cluster operator the cluster CA (`<cluster>-cluster-ca-cert`).
KAFKA_USER_SECRET_KEYS = {"password", "sasl.jaas.config"}
CLUSTER_CA_SECRET_KEYS = {"ca.crt", "ca.p12", "ca.password"}

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
LABEL_SELECTOR = obj({"matchLabels": {"type": "object", "additionalProperties": STRING},
                      "matchExpressions": {"type": "array"}}, extra=False)
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
                "authentication": obj({
                    "type": {"enum": ["tls", "scram-sha-512", "custom"]},
                }, ["type"], extra=False),
                "networkPolicyPeers": {"type": "array", "items": obj({
                    "podSelector": LABEL_SELECTOR, "namespaceSelector": LABEL_SELECTOR,
                    "ipBlock": {"type": "object"},
                }, extra=False)},
            }, ["name", "port", "type", "tls"], extra=False)},
            "authorization": obj({
                "type": {"enum": ["simple", "custom"]},
                "superUsers": {"type": "array", "items": STRING},
            }, ["type"], extra=False),
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
    ("kafka.strimzi.io/v1", "KafkaUser"): obj({"metadata": METADATA, "spec": obj({
        "authentication": obj({"type": {"enum": ["tls", "tls-external", "scram-sha-512"]}},
                              ["type"], extra=False),
        "authorization": obj({
            "type": {"enum": ["simple"]},
            "acls": {"type": "array", "minItems": 1, "items": obj({
                "type": {"enum": ["allow", "deny"]},
                "resource": obj({
                    "type": {"enum": ["topic", "group", "cluster", "transactionalId"]},
                    "name": STRING,
                    "patternType": {"enum": ["literal", "prefix"]},
                }, ["type"], extra=False),
                "host": STRING,
                "operations": {"type": "array", "minItems": 1, "items": {"enum": [
                    "Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction",
                    "AlterConfigs", "DescribeConfigs", "IdempotentWrite", "All"]}},
            }, ["resource", "operations"], extra=False)},
        }, ["type", "acls"], extra=False),
    }, ["authentication", "authorization"], extra=False)}, ["metadata", "spec"]),
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


def known_secrets(docs):
    """Secret name -> keys: the manifests' own, those created out of band, and those the
    operators write (one per SCRAM KafkaUser, the Kafka cluster CA)."""
    secrets = {d["metadata"]["name"]: set(d.get("data", {})) | set(d.get("stringData", {}))
               for d in docs if d["kind"] == "Secret"}
    secrets.update({k: v for k, v in OUT_OF_BAND_SECRETS.items() if k not in secrets})
    for doc in docs:
        if doc["kind"] == "KafkaUser" and doc["spec"]["authentication"]["type"] == "scram-sha-512":
            secrets[doc["metadata"]["name"]] = KAFKA_USER_SECRET_KEYS
        elif doc["kind"] == "Kafka":
            secrets[f"{doc['metadata']['name']}-cluster-ca-cert"] = CLUSTER_CA_SECRET_KEYS
    return secrets


def check_workloads(where, docs):
    config_maps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    secrets = known_secrets(docs)
    for doc, spec, _labels in pod_templates(docs):
        who = f"{where}: {name_of(doc)}"
        for volume in spec.get("volumes", []):
            source = volume.get("secret")
            if source is None:
                continue
            if source.get("secretName") not in secrets:
                problem(who, f"volume {volume['name']}: Secret {source.get('secretName')} "
                             "does not exist")
                continue
            for item in source.get("items", []):
                if item["key"] not in secrets[source["secretName"]]:
                    problem(who, f"volume {volume['name']}: Secret {source['secretName']} has "
                                 f"no key {item['key']}")
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


# --- Kafka security ------------------------------------------------------------------------
# The programs that talk to Kafka (a container's command), with the ACLs each needs: resource
# (type, name) -> operations. `group` is clearance.group_id; `documents` and the rest are the
# configured topics. kafka-users.yaml says why each one is needed.
def needed_acls(program, topics, group):
    needs = {
        "bondgate-intake": {
            ("topic", topics["documents"]): {"Write", "Describe"},
            ("cluster", None): {"IdempotentWrite"},
        },
        "bondgate-clearance": {
            ("topic", topics["documents"]): {"Read", "Describe"},
            ("group", group): {"Read"},
            ("group", f"{group}.log-check"): {"Describe"},
            ("topic", topics["receipts"]): {"Write", "Describe"},
            ("topic", topics["dead_letters"]): {"Write", "Describe"},
            ("cluster", None): {"IdempotentWrite"},
        },
    }
    return needs.get(program)


def program_of(spec):
    return (spec["containers"][0].get("command") or [""])[0]


def container_env(container, config_maps):
    """Variable -> value (a string, or the `valueFrom` mapping) as the container sees it."""
    env = {}
    for source in container.get("envFrom", []):
        env.update(config_maps.get(source.get("configMapRef", {}).get("name"), {}))
    for variable in container.get("env", []):
        env[variable["name"]] = variable.get("value", variable.get("valueFrom"))
    return env


def service_settings(docs):
    """The shared ConfigMap's settings (the one that names the brokers)."""
    for doc in docs:
        if doc["kind"] == "ConfigMap" and "BONDGATE__KAFKA__BROKERS" in doc.get("data", {}):
            return doc["data"]
    return {}


def client_listener(where, kafka, brokers):
    """The listener the services' bootstrap address points at, after checking every listener
    authenticates (an open listener beside a closed one is a way around it)."""
    name = kafka["metadata"]["name"]
    listeners = kafka["spec"]["kafka"]["listeners"]
    for listener in listeners:
        if "authentication" not in listener:
            problem(where, f"Kafka/{name}: listener {listener['name']} has no authentication")
    host, _, port = brokers.partition(":")
    if host.split(".")[0] != f"{name}-kafka-bootstrap":
        problem(where, f"BONDGATE__KAFKA__BROKERS {brokers} is not {name}'s bootstrap service")
    used = [l for l in listeners if str(l["port"]) == port]
    if len(used) != 1:
        problem(where, f"BONDGATE__KAFKA__BROKERS {brokers}: no listener of Kafka/{name} on {port}")
        return None
    listener = used[0]
    if listener.get("tls") is not True:
        problem(where, f"Kafka/{name}: the services' listener {listener['name']} is not TLS")
    return listener


def check_kafka_users(where, docs, by_kind, settings, listener):
    topics = {"documents": settings.get("BONDGATE__KAFKA__TOPICS__DOCUMENTS"),
              "receipts": settings.get("BONDGATE__KAFKA__TOPICS__RECEIPTS"),
              "dead_letters": settings.get("BONDGATE__KAFKA__TOPICS__DEAD_LETTERS")}
    group = settings.get("BONDGATE__CLEARANCE__GROUP_ID")
    users = by_kind.get("KafkaUser", {})
    auth = listener.get("authentication", {}).get("type", "none")
    for name, user in users.items():
        who = f"{where}: KafkaUser/{name}"
        if user["metadata"].get("labels", {}).get("strimzi.io/cluster") not in by_kind["Kafka"]:
            problem(who, "strimzi.io/cluster names no Kafka")
        if user["spec"]["authentication"]["type"] != auth:
            problem(who, f"authentication {user['spec']['authentication']['type']} is not the "
                         f"listener's {auth}")
        for acl in user["spec"]["authorization"]["acls"]:
            check_acl(who, acl, topics, group)
    return {name: granted(user) for name, user in users.items()}, topics, group


def check_acl(who, acl, topics, group):
    resource = acl["resource"]
    kind, name = resource["type"], resource.get("name")
    described = f"ACL on {kind} {name or ''}".rstrip()
    if "All" in acl["operations"]:
        problem(who, f"{described}: operation All (name the operations needed)")
    if acl.get("type", "allow") != "allow":
        problem(who, f"{described}: only allow rules are expected")
    if acl.get("host", "*") != "*":
        problem(who, f"{described}: host {acl['host']} (pod addresses change)")
    if kind == "cluster":
        if set(acl["operations"]) - {"IdempotentWrite"}:
            problem(who, f"{described}: {acl['operations']} (only IdempotentWrite is needed)")
        return
    if resource.get("patternType", "literal") != "literal" or name in (None, "*"):
        problem(who, f"{described}: not a literal name (prefix or wildcard)")
    if kind == "topic" and name not in TOPICS | set(topics.values()):
        problem(who, f"{described}: not one of bondgate's topics")
    elif kind == "group" and name not in {group, f"{group}.log-check"}:
        problem(who, f"{described}: not clearance's consumer group {group}")
    elif kind == "transactionalId":
        problem(who, f"{described}: bondgate uses no transactions")


def granted(user):
    """(resource type, name) -> operations of a KafkaUser."""
    acls = {}
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        key = (resource["type"], resource.get("name") if resource["type"] != "cluster" else None)
        acls.setdefault(key, set()).update(acl["operations"])
    return acls


def check_kafka_clients(where, docs, by_kind, settings, granted_by_user, topics, group):
    """Each program that talks to Kafka runs as its own KafkaUser, with that user's password and
    the cluster CA; any other runs as none."""
    config_maps = {d["metadata"]["name"]: d.get("data", {})
                   for d in docs if d["kind"] == "ConfigMap"}
    cluster = next(iter(by_kind["Kafka"]))
    used = {}
    for doc, spec, _labels in pod_templates(docs):
        program = program_of(spec)
        env = container_env(spec["containers"][0], config_maps)
        who = f"{where}: {name_of(doc)}"
        needs = needed_acls(program, topics, group)
        secrets_read = {v["secretKeyRef"]["name"] for v in env.values()
                        if isinstance(v, dict) and "secretKeyRef" in v}
        secrets_read |= {v["secret"]["secretName"] for v in spec.get("volumes", [])
                         if "secret" in v}
        if needs is None:
            for secret in sorted(secrets_read & set(granted_by_user)):
                problem(who, f"talks to no Kafka but reads KafkaUser {secret}'s Secret")
            sasl = sorted(k for k in env if k.startswith("BONDGATE__KAFKA__SASL_"))
            if sasl:
                problem(who, f"talks to no Kafka but sets {sasl}")
            continue
        user = env.get("BONDGATE__KAFKA__SASL_USERNAME")
        if env.get("BONDGATE__KAFKA__SECURITY_PROTOCOL") != "sasl_ssl":
            problem(who, "BONDGATE__KAFKA__SECURITY_PROTOCOL must be sasl_ssl (the listener's "
                         "SCRAM over TLS)")
        if env.get("BONDGATE__KAFKA__SASL_MECHANISM", "SCRAM-SHA-512") != "SCRAM-SHA-512":
            problem(who, "BONDGATE__KAFKA__SASL_MECHANISM must be SCRAM-SHA-512 (Strimzi's users)")
        if user not in granted_by_user:
            problem(who, f"BONDGATE__KAFKA__SASL_USERNAME {user!r} is no KafkaUser")
            continue
        if user in used:
            problem(who, f"shares KafkaUser {user} with {used[user]} (one user per service)")
        used[user] = name_of(doc)
        password = env.get("BONDGATE__KAFKA__SASL_PASSWORD")
        ref = password.get("secretKeyRef", {}) if isinstance(password, dict) else {}
        if (ref.get("name"), ref.get("key")) != (user, "password"):
            problem(who, f"BONDGATE__KAFKA__SASL_PASSWORD must come from its own KafkaUser's "
                         f"Secret {user} (key password), not {ref or password!r}")
        check_ca_file(who, spec, env.get("BONDGATE__KAFKA__SSL_CA_LOCATION"), cluster)
        have = granted_by_user[user]
        for resource in sorted(set(needs) | set(have), key=str):
            missing = needs.get(resource, set()) - have.get(resource, set())
            extra = have.get(resource, set()) - needs.get(resource, set())
            if missing:
                problem(who, f"KafkaUser {user} lacks {sorted(missing)} on {resource}")
            if extra:
                problem(who, f"KafkaUser {user} grants {sorted(extra)} on {resource}, which "
                             f"{program} does not need")
    for user in set(granted_by_user) - set(used):
        problem(where, f"KafkaUser/{user} is used by no Deployment that talks to Kafka")


def check_ca_file(who, spec, path, cluster):
    if not isinstance(path, str) or not path.startswith("/"):
        problem(who, "BONDGATE__KAFKA__SSL_CA_LOCATION must name the mounted cluster CA file")
        return
    folder, _, file = path.rpartition("/")
    mounts = {m["name"]: m["mountPath"].rstrip("/") for c in spec["containers"]
              for m in c.get("volumeMounts", [])}
    for volume in spec.get("volumes", []):
        source = volume.get("secret", {})
        if mounts.get(volume["name"]) != folder:
            continue
        files = {i["path"]: i["key"] for i in source.get("items", [])} or {
            k: k for k in CLUSTER_CA_SECRET_KEYS}
        if source.get("secretName") == f"{cluster}-cluster-ca-cert" and files.get(file) == "ca.crt":
            return
    problem(who, f"BONDGATE__KAFKA__SSL_CA_LOCATION {path} is not ca.crt of the mounted Secret "
                 f"{cluster}-cluster-ca-cert")


def check_kafka_security(where, docs, by_kind):
    settings = service_settings(docs)
    if len(by_kind.get("Kafka", {})) != 1:
        return None
    kafka = next(iter(by_kind["Kafka"].values()))
    spec = kafka["spec"]
    if spec["kafka"].get("authorization", {}).get("type") != "simple":
        problem(where, "Kafka: authorization must be simple (the KafkaUsers' ACLs)")
    if spec["kafka"].get("authorization", {}).get("superUsers"):
        problem(where, "Kafka: superUsers bypass every ACL (Strimzi's own components need none)")
    if "userOperator" not in spec.get("entityOperator", {}):
        problem(where, "Kafka: the entity operator's userOperator must run (KafkaUsers)")
    listener = client_listener(where, kafka, settings.get("BONDGATE__KAFKA__BROKERS", ""))
    if listener is None:
        return None
    granted_by_user, topics, group = check_kafka_users(where, docs, by_kind, settings, listener)
    check_kafka_clients(where, docs, by_kind, settings, granted_by_user, topics, group)
    return listener


# --- Network policies ----------------------------------------------------------------------
ANYWHERE = "anywhere"
ANY_PORT = "any port"
# Pods outside the namespace that talk to it: namespace labels, pod labels (as their
# operators and charts label them; namespaces carry kubernetes.io/metadata.name).
OUTSIDE = {
    "dns": ({"kubernetes.io/metadata.name": "kube-system"}, {"k8s-app": "kube-dns"}),
    "prometheus": ({"kubernetes.io/metadata.name": "monitoring"},
                   {"app.kubernetes.io/name": "prometheus", "prometheus": "k8s"}),
    "cnpg-operator": ({"kubernetes.io/metadata.name": "cnpg-system"},
                      {"app.kubernetes.io/name": "cloudnative-pg"}),
    "strimzi-operator": ({"kubernetes.io/metadata.name": "strimzi"},
                         {"name": "strimzi-cluster-operator",
                          "strimzi.io/kind": "cluster-operator"}),
    # Reached by address only (no selector picks it): what an unrestricted egress allows.
    "kubernetes-api": None,
}


def namespace_pods(docs, by_kind):
    """Pod group -> labels of every kind of pod the namespace runs: ours (Deployments, Jobs)
    and the operators' (Strimzi node pools and entity operator, CloudNativePG instances and
    Jobs), labelled as the operators label them."""
    pods = {doc["metadata"]["name"]: labels for doc, _spec, labels in pod_templates(docs)}
    for name, kafka in by_kind.get("Kafka", {}).items():
        common = {"strimzi.io/cluster": name, "strimzi.io/kind": "Kafka"}
        for pool in by_kind.get("KafkaNodePool", {}).values():
            if pool["metadata"].get("labels", {}).get("strimzi.io/cluster") != name:
                continue
            roles = pool["spec"]["roles"]
            pods[f"kafka:{pool['metadata']['name']}"] = {
                **common, "strimzi.io/name": f"{name}-kafka",
                "strimzi.io/component-type": "kafka",
                "strimzi.io/pool-name": pool["metadata"]["name"],
                "strimzi.io/broker-role": str("broker" in roles).lower(),
                "strimzi.io/controller-role": str("controller" in roles).lower(),
            }
        if "entityOperator" in kafka["spec"]:
            pods["kafka-entity-operator"] = {
                **common, "strimzi.io/name": f"{name}-entity-operator",
                "strimzi.io/component-type": "entity-operator",
            }
    for name in by_kind.get("Cluster", {}):
        pods["postgres"] = {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"}
    return pods


def group_of(pod):
    return pod.split(":")[0]


def selects(selector, labels):
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        if ((operator == "In" and labels.get(key) not in values)
                or (operator == "NotIn" and key in labels and labels[key] in values)
                or (operator == "Exists" and key not in labels)
                or (operator == "DoesNotExist" and key in labels)):
            return False
    return True


def is_empty(selector):
    return not (selector.get("matchLabels") or selector.get("matchExpressions"))


def peers_of(who, peers, pods, namespace_labels):
    """The pod groups (ours, OUTSIDE's, or ANYWHERE) a rule's peers cover."""
    if not peers:
        return {ANYWHERE}
    found = set()
    for peer in peers:
        pod_selector = peer.get("podSelector") or {}
        namespaces = peer.get("namespaceSelector")
        if "ipBlock" in peer or (namespaces is not None and is_empty(namespaces)
                                 and is_empty(pod_selector)):
            found.add(ANYWHERE)
            continue
        matched = set()
        if namespaces is None or selects(namespaces, namespace_labels):
            matched |= {group_of(p) for p, labels in pods.items() if selects(pod_selector, labels)}
        if namespaces is not None:
            matched |= {name for name, where in OUTSIDE.items() if where is not None
                        and selects(namespaces, where[0]) and selects(pod_selector, where[1])}
        if not matched:
            problem(who, f"peer {json.dumps(peer, sort_keys=True)} selects no pod")
        found |= matched
    return found


def ports_of(who, rule):
    if not rule.get("ports"):
        return {(ANY_PORT, "TCP"), (ANY_PORT, "UDP")}
    ports = set()
    for port in rule["ports"]:
        if not isinstance(port.get("port"), int):
            problem(who, f"port {port.get('port')!r}: give ports as numbers")
            continue
        ports.add((port["port"], port.get("protocol", "TCP")))
    return ports


def traffic(where, docs, pods, namespace_labels):
    """(ingress, egress): pod group -> {(peer, port, protocol)} allowed; the default-deny's
    presence; the groups that some policy of their own selects."""
    allowed = {"Ingress": {}, "Egress": {}}
    default_deny, own = False, set()
    for policy in (d for d in docs if d["kind"] == "NetworkPolicy"):
        who = f"{where}: {name_of(policy)}"
        spec = policy["spec"]
        types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))
        selected = {group_of(p) for p, labels in pods.items()
                    if selects(spec["podSelector"], labels)}
        if not selected:
            problem(who, "its podSelector selects no pod")
        if is_empty(spec["podSelector"]):
            default_deny |= (set(types) == {"Ingress", "Egress"}
                             and not spec.get("ingress") and not spec.get("egress"))
        else:
            own |= selected
        for kind, rules, peer_field in (("Ingress", spec.get("ingress", []), "from"),
                                        ("Egress", spec.get("egress", []), "to")):
            if kind not in types:
                continue
            for group in selected:
                allowed[kind].setdefault(group, set())
            for rule in rules:
                entries = {(peer, port, protocol)
                           for peer in peers_of(who, rule.get(peer_field), pods, namespace_labels)
                           for port, protocol in ports_of(who, rule)}
                for group in selected:
                    allowed[kind][group] |= entries
    return allowed["Ingress"], allowed["Egress"], default_deny, own


def admits(entries, peer, port, protocol):
    return any(p in (peer, ANYWHERE) and q in (port, ANY_PORT) and r == protocol
               for p, q, r in entries)


def needed_paths(groups, kafka_port):
    """(from, to, port, protocol) of every connection the system makes."""
    tcp = [
        (ANYWHERE, "intake", 8080), (ANYWHERE, "review", 8081),
        ("prometheus", "intake", 8090), ("prometheus", "clearance", 9091),
        ("prometheus", "postgres", 9187),
        ("intake", "kafka", kafka_port), ("clearance", "kafka", kafka_port),
        ("intake", "postgres", 5432), ("clearance", "postgres", 5432),
        ("review", "postgres", 5432), ("bondgate-migrate", "postgres", 5432),
        ("kafka", "kafka", 9090), ("kafka", "kafka", 9091),
        ("kafka-entity-operator", "kafka", 9091),
        ("strimzi-operator", "kafka", 9090), ("strimzi-operator", "kafka", 9091),
        ("strimzi-operator", "kafka", 8443),
        ("postgres", "postgres", 5432), ("postgres", "postgres", 8000),
        ("cnpg-operator", "postgres", 5432), ("cnpg-operator", "postgres", 8000),
        ("postgres", "kubernetes-api", 443), ("postgres", "kubernetes-api", 6443),
        ("kafka-entity-operator", "kubernetes-api", 443),
        ("kafka-entity-operator", "kubernetes-api", 6443),
    ]
    paths = [(a, b, port, "TCP") for a, b, port in tcp]
    paths += [(group, "dns", 53, protocol) for group in groups for protocol in ("UDP", "TCP")]
    return paths


# What each of our workloads may do on the network, exactly: (peer, port, protocol).
def exact_traffic(kafka_port):
    dns = {("dns", 53, "UDP"), ("dns", 53, "TCP")}
    database = {("postgres", 5432, "TCP")}
    kafka = {("kafka", kafka_port, "TCP")}
    return {
        "intake": ({(ANYWHERE, 8080, "TCP"), ("prometheus", 8090, "TCP")},
                   kafka | database | dns),
        "clearance": ({("prometheus", 9091, "TCP")}, kafka | database | dns),
        "review": ({(ANYWHERE, 8081, "TCP")}, database | dns),
        "bondgate-migrate": (set(), database | dns),
    }


def check_network_policies(where, docs, by_kind, listener):
    pods = namespace_pods(docs, by_kind)
    namespace = by_kind.get("Namespace", {}).get("bondgate", {"metadata": {}})
    namespace_labels = {**namespace["metadata"].get("labels", {}),
                        "kubernetes.io/metadata.name": "bondgate"}
    ingress, egress, default_deny, own = traffic(where, docs, pods, namespace_labels)
    if not default_deny:
        problem(where, "no default-deny NetworkPolicy (podSelector {}, Ingress and Egress, "
                       "no rules)")
    groups = sorted({group_of(p) for p in pods})
    for group in groups:
        if group not in own:
            problem(where, f"{group}: no NetworkPolicy of its own (its pods talk to nobody)")
    kafka_port = listener["port"]
    for source, target, port, protocol in needed_paths(groups, kafka_port):
        if source in egress and not admits(egress[source], target, port, protocol):
            problem(where, f"{source}: egress to {target}:{port}/{protocol} is not allowed")
        if target in ingress and not admits(ingress[target], source, port, protocol):
            problem(where, f"{target}: ingress from {source} on {port}/{protocol} is not allowed")
    for group, (wanted_in, wanted_out) in exact_traffic(kafka_port).items():
        for kind, have, wanted in (("ingress", ingress, wanted_in), ("egress", egress, wanted_out)):
            for peer, port, protocol in sorted(have.get(group, set()) - wanted, key=str):
                problem(where, f"{group}: {kind} {'to' if kind == 'egress' else 'from'} "
                               f"{peer}:{port}/{protocol} is not needed")
    # Who may reach the Kafka client listener and PostgreSQL, whatever else is open.
    reach = {"kafka": ({"intake", "clearance"}, kafka_port),
             "postgres": ({"intake", "clearance", "review", "bondgate-migrate", "postgres",
                           "cnpg-operator"}, 5432)}
    for target, (allowed_sources, port) in reach.items():
        for peer, open_port, _protocol in ingress.get(target, set()):
            if open_port in (port, ANY_PORT) and peer not in allowed_sources:
                problem(where, f"{target}: ingress on {port} from {peer}, expected only "
                               f"{sorted(allowed_sources)}")
    peers = listener.get("networkPolicyPeers")
    listener_peers = peers_of(f"{where}: Kafka listener {listener['name']}", peers, pods,
                              namespace_labels)
    if listener_peers != {"intake", "clearance"}:
        problem(where, f"Kafka listener {listener['name']}: networkPolicyPeers cover "
                       f"{sorted(listener_peers)}, expected intake and clearance (Strimzi opens "
                       "the listener to them in a policy of its own)")


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
        by_kind = {}
        for doc in docs:
            by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
        listener = check_kafka_security(where, docs, by_kind)
        if listener is not None:
            check_network_policies(where, docs, by_kind, listener)
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
