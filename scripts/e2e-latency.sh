#!/usr/bin/env bash
# Measures end-to-end latency through a running stack (./ferret up) with non-streamed requests and
# prints the client-side wall time plus the per-stage timings the pipeline reports in the
# `ferret_timings` extension field (ms since the gateway accepted the request).
#   scripts/e2e-latency.sh [IMAGE] [N] [URL]
# It asks about one image N times: with the feature cache (on in ./ferret up, ADR 0018) every
# request after the first takes its features from the cache; start the stack with
# --no-feature-cache to time the full path each time.
set -euo pipefail
IMAGE="${1:-docs/examples/red-and-blue.png}"
N="${2:-10}"
URL="${3:-http://localhost:8080}"
IMG=$(base64 -w0 "$IMAGE")
BODY=$(mktemp)
trap 'rm -f "$BODY"' EXIT
printf '{"model":"ferret-v2-dev","messages":[{"role":"user","content":[{"type":"text","text":"Where is the red object?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,%s"}}]}]}' "$IMG" > "$BODY"
for i in $(seq 1 "$N"); do
  curl -s -o - -w '\n%{time_total}\n' "$URL/v1/chat/completions" -H 'Content-Type: application/json' --data-binary @"$BODY"
done | /usr/bin/python3 -c '
import json, sys, statistics
lines = [l for l in sys.stdin.read().splitlines() if l.strip()]
runs = [(json.loads(lines[i]), float(lines[i + 1]) * 1000) for i in range(0, len(lines), 2)]
stages = {}
for body, wall in runs:
    for k, v in body.get("ferret_timings", {}).items():
        stages.setdefault(k, []).append(v)
    stages.setdefault("client wall time", []).append(wall)
print("%-22s %8s %8s %8s" % ("stage (ms)", "p50", "min", "max"))
for k, v in sorted(stages.items(), key=lambda kv: statistics.median(kv[1])):
    print("%-22s %8.0f %8.0f %8.0f" % (k, statistics.median(v), min(v), max(v)))
print("runs:", len(runs), "answer:", runs[-1][0]["choices"][0]["message"]["content"])
'
