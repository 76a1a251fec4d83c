#!/usr/bin/env python3
"""Proves that check_deploy.py fails on a broken deploy/: each case copies deploy/ into a
temporary folder, breaks one thing the way a careless edit would, runs check_deploy.py on the
copy (BONDGATE_DEPLOY_DIR) and expects exit status 1 with the problem named. The unbroken copy
must pass, so a case fails for its own break and not for the copy. scripts/lib/ops-checks.sh
runs it after check_deploy.py, in the same virtualenv.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest
from concurrent.futures import ThreadPoolExecutor

import yaml

HERE = pathlib.Path(__file__).resolve().parent
DEPLOY = HERE.parents[1] / "deploy"
BASE = "k8s/base"


def edit_docs(relative, change):
    """A break that applies `change(doc)` to every YAML document of one file of the copy."""
    def apply(root):
        path = root / relative
        docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        changed = [change(doc) for doc in docs]
        path.write_text(yaml.safe_dump_all([doc for doc in changed if doc is not None],
                                           sort_keys=False))
    return apply


def only(kind, name, change):
    """A `change` for edit_docs that mutates the one object `kind`/`name` in place, or deletes
    it when `change` is None."""
    def apply(doc):
        if doc.get("kind") != kind or doc["metadata"]["name"] != name:
            return doc
        if change is None:
            return None
        change(doc)
        return doc
    return apply


def acls(doc):
    return doc["spec"]["authorization"]["acls"]


def env(doc, name):
    variables = doc["spec"]["template"]["spec"]["containers"][0]["env"]
    return next(variable for variable in variables if variable["name"] == name)


def policy(name, change):
    return edit_docs(f"{BASE}/network-policies.yaml", only("NetworkPolicy", name, change))


def user(name, change):
    return edit_docs(f"{BASE}/kafka-users.yaml", only("KafkaUser", name, change))


def kafka(change):
    return edit_docs(f"{BASE}/kafka.yaml", only("Kafka", "bondgate", change))


def deployment(name, change):
    return edit_docs(f"{BASE}/{name}.yaml", only("Deployment", name, change))


def add_review_user(root):
    """A third KafkaUser, for review, beside intake's and clearance's."""
    path = root / BASE / "kafka-users.yaml"
    docs = list(yaml.safe_load_all(path.read_text()))
    extra = yaml.safe_load(yaml.safe_dump(docs[0]))
    extra["metadata"]["name"] = "bondgate-review"
    path.write_text(yaml.safe_dump_all(docs + [extra], sort_keys=False))


KAFKA_PEER = {"podSelector": {"matchLabels": {
    "strimzi.io/cluster": "bondgate", "strimzi.io/kind": "Kafka",
    "strimzi.io/name": "bondgate-kafka"}}}
PREFIXED_TOPIC = {"resource": {"type": "topic", "name": "cbec.", "patternType": "prefix"},
                  "operations": ["Read"]}
PLAIN_LISTENER = {"name": "plain", "port": 9092, "type": "internal", "tls": False}

# name -> (break, what the problem message must say)
CASES = {
    "an ACL with All": (
        user("bondgate-intake", lambda d: acls(d)[0].update(operations=["All"])),
        "operation All"),
    "a prefixed topic ACL": (
        user("bondgate-clearance", lambda d: acls(d).append(PREFIXED_TOPIC)),
        "not a literal name"),
    "a topic that is not bondgate's": (
        user("bondgate-intake", lambda d: acls(d)[0]["resource"].update(name="orders")),
        "not one of bondgate's topics"),
    "clearance without Read on its group": (
        user("bondgate-clearance", lambda d: d["spec"]["authorization"].update(
            acls=[a for a in acls(d) if a["resource"]["type"] != "group"])),
        "lacks ['Read'] on ('group', 'bondgate-clearance')"),
    "intake allowed to read": (
        user("bondgate-intake", lambda d: acls(d)[0]["operations"].append("Read")),
        "grants ['Read']"),
    "a KafkaUser for review": (
        add_review_user,
        "KafkaUser/bondgate-review is used by no Deployment"),
    "a listener without authentication": (
        kafka(lambda d: d["spec"]["kafka"]["listeners"][0].pop("authentication")),
        "has no authentication"),
    "a plain listener beside the TLS one": (
        kafka(lambda d: d["spec"]["kafka"]["listeners"].append(PLAIN_LISTENER)),
        "listener plain has no authentication"),
    "a super user": (
        kafka(lambda d: d["spec"]["kafka"]["authorization"].update(superUsers=["admin"])),
        "superUsers bypass every ACL"),
    "no authorization on the cluster": (
        kafka(lambda d: d["spec"]["kafka"].pop("authorization")),
        "authorization must be simple"),
    "clearance reading intake's password": (
        deployment("clearance", lambda d: env(d, "BONDGATE__KAFKA__SASL_PASSWORD")[
            "valueFrom"]["secretKeyRef"].update(name="bondgate-intake")),
        "must come from its own KafkaUser's Secret bondgate-clearance"),
    "intake without the cluster CA": (
        deployment("intake", lambda d: env(d, "BONDGATE__KAFKA__SSL_CA_LOCATION").update(
            value="/tmp/ca.crt")),
        "is not ca.crt of the mounted Secret bondgate-cluster-ca-cert"),
    "a missing NetworkPolicy": (
        policy("clearance", None),
        "clearance: no NetworkPolicy of its own"),
    "no default-deny": (
        policy("default-deny", None),
        "no default-deny NetworkPolicy"),
    "review given Kafka egress": (
        policy("review", lambda d: d["spec"]["egress"].append(
            {"to": [KAFKA_PEER], "ports": [{"protocol": "TCP", "port": 9093}]})),
        "review: egress to kafka:9093/TCP is not needed"),
    "intake's egress open to everything": (
        policy("intake", lambda d: d["spec"]["egress"].append({})),
        "intake: egress to anywhere:any port/TCP is not needed"),
    "the Kafka listener open to every pod": (
        policy("kafka", lambda d: d["spec"]["ingress"][0].pop("from")),
        "kafka: ingress on 9093 from anywhere"),
    "a selector that matches no pod": (
        policy("intake", lambda d: d["spec"]["egress"][1]["to"][0]["podSelector"][
            "matchLabels"].update({"cnpg.io/cluster": "bondgate-pg"})),
        "selects no pod"),
    "clearance without DNS": (
        policy("dns", lambda d: d["spec"].update(podSelector={"matchLabels": {
            "app.kubernetes.io/name": "bondgate-intake"}})),
        "clearance: egress to dns:53/UDP is not allowed"),
    "PostgreSQL closed to the migration Job": (
        policy("postgres", lambda d: d["spec"]["ingress"][0]["from"].pop(3)),
        "postgres: ingress from bondgate-migrate on 5432/TCP is not allowed"),
}


def run_check(root):
    environment = {**os.environ, "BONDGATE_DEPLOY_DIR": str(root)}
    return subprocess.run([sys.executable, str(HERE / "check_deploy.py")],
                          capture_output=True, text=True, env=environment)


def copy(folder, name):
    """deploy/ copied into `folder`, with the break of case `name` (None: unbroken)."""
    root = pathlib.Path(folder) / "deploy"
    shutil.copytree(DEPLOY, root)
    if name is not None:
        CASES[name][0](root)
    return root


class BrokenDeployFails(unittest.TestCase):
    results = {}

    @classmethod
    def setUpClass(cls):
        # Each run renders both kustomizations: run them two at a time.
        def one(name):
            with tempfile.TemporaryDirectory() as folder:
                return name, run_check(copy(folder, name))
        with ThreadPoolExecutor(max_workers=2) as pool:
            cls.results = dict(pool.map(one, [None] + list(CASES)))

    def test_the_unbroken_copy_passes(self):
        result = self.results[None]
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_each_break_fails_naming_its_problem(self):
        for name, (_break, message) in CASES.items():
            with self.subTest(name):
                result = self.results[name]
                self.assertEqual(result.returncode, 1, f"{name}: passed\n{result.stdout}")
                self.assertIn(message, result.stderr, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
