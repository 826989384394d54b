#!/usr/bin/env python3
"""Turns the raw measurements of scripts/bench into bench/results/<name>.json and a markdown table.

Usage: report.py TMP CONFIG CONNECTIONS HTTP_SECONDS PARTNER_SIGNATURES OUT_JSON OUT_MD
"""
import datetime
import json
import os
import platform
import sys

tmp, config, connections, http_seconds, partner_signatures, out_json, out_md = sys.argv[1:8]


def load(name):
    with open(os.path.join(tmp, name)) as f:
        return json.load(f)


nginx = load("nginx.json")
intake = load("intake.json")
half = load("half.json")
http_e2e = load("http-e2e.json")
partners = {n: (load(f"partner-{n}-load.json"), load(f"partner-{n}-e2e.json")) for n in (1, 2)}
delivery = load("delivery.json")
page = {"nginx": load("page-nginx.json"), "intake": load("page-intake.json"), "bytes": load("page.json")["bytes"]}
delivery["reference_seconds"] = delivery["reference"] - delivery["start"]
delivery["delivery_seconds"] = delivery["delivered"] - delivery["start_delivery"]
memory = {}
with open(os.path.join(tmp, "memory.txt")) as f:
    for line in f:
        name, kib = line.split()
        memory[name] = round(int(kib) / 1024, 1)


def rate(run):
    return (run["requests"] - run["non_2xx"] - run["socket_errors"]) / run["seconds"]


nginx_rate = rate(nginx)
intake_rate = rate(intake)


def end_to_end(e2e):
    return {
        "counted": e2e["counted"],
        "counted_per_second": e2e["counted"] / (e2e["settled"] - e2e["start"]),
        "seconds_to_count_after_last_accepted": e2e["settled"] - e2e["sent"],
    }


result = {
    "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
    "build": config,
    "http": {
        "connections": int(connections),
        "seconds": int(http_seconds),
        "nginx": {"requests_per_second": nginx_rate, "latency_ms": nginx["latency_ms"]},
        "intake": {
            "accepted_per_second": intake_rate,
            "errors": intake["non_2xx"] + intake["socket_errors"] + intake["timeouts"],
            "latency_ms": intake["latency_ms"],
            "ratio_to_nginx": intake_rate / nginx_rate,
        },
        "intake_half_rate": {
            "target_per_second": intake_rate / 2,
            "accepted_per_second": rate(half),
            "errors": half["non_2xx"] + half["socket_errors"] + half["timeouts"],
            "latency_ms": half["latency_ms"],
        },
        "end_to_end": end_to_end(http_e2e),
    },
    "partner": {
        f"{n}_instance{'s' if n > 1 else ''}": {
            "signatures": int(partner_signatures),
            "confirmed_per_second": load_["acknowledged_per_second"],
            "errors": sum(load_["errors"].values()),
            "end_to_end": end_to_end(e2e),
        }
        for n, (load_, e2e) in partners.items()
    },
    "delivery": {
        "signatures": delivery["rows"],
        "packaged_per_second": delivery["rows"] / delivery["delivery_seconds"],
        "psql_copy_per_second": delivery["rows"] / delivery["reference_seconds"],
        "ratio_to_psql_copy": delivery["reference_seconds"] / delivery["delivery_seconds"],
    },
    "signing_page": {
        "gzip_bytes": page["bytes"],
        "nginx": {"requests_per_second": rate(page["nginx"]), "latency_ms": page["nginx"]["latency_ms"]},
        "intake": {"requests_per_second": rate(page["intake"]), "latency_ms": page["intake"]["latency_ms"],
                   "errors": page["intake"]["non_2xx"] + page["intake"]["socket_errors"] + page["intake"]["timeouts"]},
        "ratio_to_nginx": rate(page["intake"]) / rate(page["nginx"]),
    },
    "peak_resident_mib": memory,
}
with open(out_json, "w") as f:
    json.dump(result, f, indent=2, sort_keys=True)
    f.write("\n")

p1 = result["partner"]["1_instance"]
p2 = result["partner"]["2_instances"]
workers = {k: v for k, v in memory.items() if not k.startswith("intake")}
rows = [
    ("nginx reference (202, nothing parsed or stored)", f"{nginx_rate:,.0f} req/s", f"p50 {nginx['latency_ms']['p50']:.1f} ms, p99 {nginx['latency_ms']['p99']:.1f} ms", ""),
    ("HTTP intake, full speed (confirmed 202/s)", f"{intake_rate:,.0f} /s", f"**{intake_rate / nginx_rate:.1%} of nginx**; p50 {intake['latency_ms']['p50']:.1f} ms, p99 {intake['latency_ms']['p99']:.1f} ms, p99.9 {intake['latency_ms']['p999']:.1f} ms; errors {result['http']['intake']['errors']}", "≥ 25% of nginx, ≥ 10,000/s"),
    ("HTTP intake, half rate (fixed schedule)", f"{rate(half):,.0f} /s", f"p50 {half['latency_ms']['p50']:.1f} ms, p99 {half['latency_ms']['p99']:.1f} ms, p99.9 {half['latency_ms']['p999']:.1f} ms; errors {result['http']['intake_half_rate']['errors']}", "p99 ≤ 100 ms"),
    ("HTTP end to end (sent → counted)", f"{result['http']['end_to_end']['counted_per_second']:,.0f} /s", f"{result['http']['end_to_end']['counted']:,} counted, {result['http']['end_to_end']['seconds_to_count_after_last_accepted']:.1f} s after the last 202", ""),
    ("Partner path into the broker (envelopes of 500)", f"{p1['confirmed_per_second']:,.0f} /s", f"{int(partner_signatures):,} signatures, confirmed", "≥ 100,000/s"),
    ("Partner path end to end, 1 dedup + 1 tally", f"{p1['end_to_end']['counted_per_second']:,.0f} /s", f"counted {p1['end_to_end']['seconds_to_count_after_last_accepted']:.1f} s after the last confirm", "≥ 30,000/s; ≤ 60 s after"),
    ("Partner path end to end, 2 dedup + 2 tally", f"{p2['end_to_end']['counted_per_second']:,.0f} /s", f"counted {p2['end_to_end']['seconds_to_count_after_last_accepted']:.1f} s after the last confirm (confirm rate {p2['confirmed_per_second']:,.0f}/s)", ""),
    ("Delivery: package to a files target (CSV, manifest, letter)", f"{result['delivery']['packaged_per_second']:,.0f} /s",
     f"**{result['delivery']['ratio_to_psql_copy']:.1%} of psql COPY** ({result['delivery']['psql_copy_per_second']:,.0f}/s) for {delivery['rows']:,} signatures, planning and polling included", ""),
    ("Signing page GETs (gzip, the same bytes from nginx as reference)", f"{rate(page['intake']):,.0f} req/s",
     f"**{result['signing_page']['ratio_to_nginx']:.1%} of nginx** ({rate(page['nginx']):,.0f} req/s) for {page['bytes']:,} bytes; "
     f"p99 {page['intake']['latency_ms']['p99']:.1f} ms; errors {result['signing_page']['intake']['errors']}", "≥ 25% of nginx"),
    ("Peak resident memory", ", ".join(f"{k} {v} MiB" for k, v in sorted(memory.items())), "", "workers ≤ 64 MiB, intake ≤ 128 MiB"),
]
with open(out_md, "w") as f:
    f.write(f"Measured {result['when']} on {os.cpu_count()} cores ({config} build; broker, database, services and load generator share the machine).\n\n")
    f.write("| Measure | Result | Detail | Target |\n|---|---|---|---|\n")
    for row in rows:
        f.write("| " + " | ".join(row) + " |\n")
print(f"bench: intake/nginx={intake_rate / nginx_rate:.3f} intake={intake_rate:.0f}/s nginx={nginx_rate:.0f}/s "
      f"partner={p1['confirmed_per_second']:.0f}/s e2e1={p1['end_to_end']['counted_per_second']:.0f}/s "
      f"e2e2={p2['end_to_end']['counted_per_second']:.0f}/s delivery/copy={result['delivery']['ratio_to_psql_copy']:.3f} "
      f"page/nginx={result['signing_page']['ratio_to_nginx']:.3f}", file=sys.stderr)
