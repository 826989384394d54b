#!/usr/bin/env python3
"""Checks a running suite's /metrics against what the dashboard and the alert rules read.

    check_metrics.py --service intake=http://127.0.0.1:8080 --service tally=... \
                     --broker http://127.0.0.1:15692 --forbid ada@example.org --forbid "Ada Lovelace"

- Every metric named in deploy/grafana/dashboards/*.json and deploy/prometheus/alerts.yml is exported
  by some service, or by the broker when scraped with the path and params of deploy/prometheus/prometheus.yml.
- Each service exports the metrics every service must have (see EXPECTED).
- No forbidden text (signers' emails and names) appears in any output.
Exits non-zero naming every miss.
"""
import argparse
import glob
import json
import re
import sys
import urllib.parse
import urllib.request

import yaml  # PyYAML, installed with the API tools

# What each service must export, whether or not the dashboard reads it today.
COMMON = [
    "http_requests_total", "http_request_duration_seconds",
    "undersigned_publisher_messages_published_total", "undersigned_publisher_nacks_total",
    "undersigned_publisher_returns_total", "undersigned_publisher_reconnects_total",
    "undersigned_publisher_confirms_in_flight", "undersigned_publisher_backlog_messages",
]
WORKER = ["undersigned_consumer_reconnects_total", "undersigned_messages_processed_total", "undersigned_messages_dead_lettered_total",
          "undersigned_batch_duration_seconds", "undersigned_batch_messages", "undersigned_batch_retries_total"]
EXPECTED = {
    "intake": COMMON + ["undersigned_intake_signatures_accepted_total", "undersigned_intake_signatures_rejected_total",
                        "undersigned_intake_unavailable_total"],
    "dedup": COMMON + WORKER + ["undersigned_dedup_signatures_total"],
    "tally": COMMON + WORKER + ["undersigned_tally_events_total", "undersigned_end_to_end_lag_seconds"],
    "delivery": COMMON + WORKER + ["undersigned_deliveries", "undersigned_delivery_oldest_pending_seconds"],
}
SUFFIXES = ("_bucket", "_sum", "_count")
NAME = re.compile(r"\b((?:undersigned|http|rabbitmq)_[a-z0-9_]+)\b")


def referenced(root):
    """Metric names the dashboard and the alert rules read, by file."""
    names = {}
    for path in glob.glob(f"{root}/deploy/grafana/dashboards/*.json"):
        with open(path) as f:
            dashboard = json.load(f)
        panels = dashboard.get("panels", [])
        for panel in panels + [inner for row in panels for inner in row.get("panels", [])]:
            for target in panel.get("targets", []):
                for name in NAME.findall(target.get("expr", "")):
                    names.setdefault(base(name), set()).add(path)
    with open(f"{root}/deploy/prometheus/alerts.yml") as f:
        rules = yaml.safe_load(f)
    for group in rules["groups"]:
        for rule in group["rules"]:
            for name in NAME.findall(rule["expr"]):
                names.setdefault(base(name), set()).add("alerts.yml")
    return names


def base(name):
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def broker_path(root):
    with open(f"{root}/deploy/prometheus/prometheus.yml") as f:
        config = yaml.safe_load(f)
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "rabbitmq")
    query = urllib.parse.urlencode([(k, v) for k, values in job.get("params", {}).items() for v in values])
    return job.get("metrics_path", "/metrics") + (f"?{query}" if query else "")


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def families(text):
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=".")
    parser.add_argument("--service", action="append", default=[], help="NAME=BASE_URL")
    parser.add_argument("--broker", required=True, help="base URL of RabbitMQ's Prometheus endpoint")
    parser.add_argument("--forbid", action="append", default=[], help="text that must not appear")
    args = parser.parse_args()

    problems = []
    exported = {}
    outputs = {}
    for spec in args.service:
        name, url = spec.split("=", 1)
        scrape(url + "/metrics")  # so that the scrape itself shows in http_requests_total
        outputs[name] = scrape(url + "/metrics")
        exported[name] = families(outputs[name])
        for metric in EXPECTED[name]:
            if metric not in exported[name]:
                problems.append(f"{name} does not export {metric}")
    path = broker_path(args.root)
    outputs["rabbitmq"] = scrape(args.broker + path)
    exported["rabbitmq"] = families(outputs["rabbitmq"])

    wanted = referenced(args.root)
    for metric, files in sorted(wanted.items()):
        if not any(metric in names for names in exported.values()):
            where = "the broker at " + path if metric.startswith("rabbitmq_") else "any service"
            problems.append(f"{metric} (read by {', '.join(sorted(files))}) is not exported by {where}")
    for text in args.forbid:
        for name, output in outputs.items():
            if text.lower() in output.lower():
                problems.append(f"{name}'s metrics contain personal data ({text[:3]}…)")

    for problem in problems:
        print(f"metrics: {problem}", file=sys.stderr)
    count = sum(len(names) for names in exported.values())
    print(f"metrics: {len(wanted)} metrics read by the dashboard and alerts, {count} families exported "
          f"by {len(exported)} processes, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
