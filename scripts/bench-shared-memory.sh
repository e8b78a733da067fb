#!/usr/bin/env bash
# Shared memory on and off, same build: the working tree's launcher started as `./ferret up` and as
# `./ferret up --no-shared-memory`, alternately (on, off, on, off, ...), one stack at a time, with
# the pipeline bench's load driver (ai.ferretstream.bench.PipelineLoad). Writes a Markdown report
# with the median of every figure over the rounds and the ratio on / off.
#
#   scripts/bench-shared-memory.sh [ROUNDS]        (ROUNDS per side, default 2; ~6 min per stack)
#
# Phases per stack: 400 plain requests at c=16 and 100 region requests at c=4 to warm it up, then
# c=1 plain (30), c=1 with a region (30), c=4 with a region (80), c=16 plain (160). Plain: "Where is
# the red object?"; region: "What is in [600, 550, 850, 900] <region_fea>?" (fusion's region
# sampler is called); a synthetic 960x640 PNG (3x2 grid). Ports 18080 and 18001 must be free.
#
# Environment: BENCH_SKIP_BUILD=1 (use the jars already built), BENCH_OUT (raw results, default
# target/bench/shared-memory), BENCH_REPORT (default docs/bench/shared-memory.md), MAVEN_ARGS,
# BENCH_OFF_FLAG (what "off" passes to `ferret up`, default --no-shared-memory: everything through
# sockets; --no-shared-features keeps the inference calls' shared memory and turns off only the
# shared-memory feature store of ADR 0011), BENCH_TITLE (the report's heading).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-2}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [ROUNDS]" >&2; exit 2; }
OUT="${BENCH_OUT:-$ROOT/target/bench/shared-memory}"
REPORT="${BENCH_REPORT:-$ROOT/docs/bench/shared-memory.md}"
log() { echo "bench-shared-memory: $*" >&2; }

cd "$ROOT"
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  log "building the launcher and the load driver ..."
  # shellcheck disable=SC2086
  ./mvnw -B -q ${MAVEN_ARGS:-} package -DskipTests -Dspotless.check.skip=true \
    -pl launcher,benchmarks -am
fi
rm -rf "$OUT"
mkdir -p "$OUT" "$(dirname "$REPORT")"
cp launcher/target/launcher-0.1.0-SNAPSHOT-exec.jar "$OUT/launcher.jar"
cp benchmarks/target/benchmarks.jar "$OUT/driver.jar"
own="$(grep -v '^[[:space:]]*#' launcher/jvm.options 2>/dev/null | tr '\n' ' ' || true)"
REGION='What is in [600, 550, 850, 900] <region_fea>?'
OFF_FLAG="${BENCH_OFF_FLAG:---no-shared-memory}"
TITLE="${BENCH_TITLE:-Shared memory on and off: the same build side by side}"

for round in $(seq 1 "$ROUNDS"); do
  for side in on off; do
    R="$OUT/r$round-$side"
    mkdir -p "$R"
    extra=()
    [[ "$side" == off ]] && extra=("$OFF_FLAG")
    log "round $round: shared memory $side"
    # shellcheck disable=SC2086
    java --add-modules jdk.incubator.vector $own -Xmx4g -jar "$OUT/launcher.jar" up --port 18080 \
      --kafka-port 0 --grpc-port 18001 "${extra[@]}" >"$R/stack.log" 2>&1 &
    pid=$!
    t0=$SECONDS
    until curl -sf -m 5 localhost:18080/actuator/health 2>/dev/null | grep -q UP; do
      kill -0 "$pid" 2>/dev/null || { log "the stack exited (see $R/stack.log)"; exit 1; }
      ((SECONDS - t0 < 300)) || { log "not UP after 300 s"; kill "$pid"; exit 1; }
      sleep 2
    done
    boot="$(grep -o 'kafka broker up at [^ ]*' "$R/stack.log" | awk '{print $5}')"
    driver() {
      java -XX:+UseSerialGC -Xmx512m -cp "$OUT/driver.jar" ai.ferretstream.bench.PipelineLoad \
        --url http://localhost:18080 --bootstrap "$boot" --grpc localhost:18001 --pid "$pid" \
        --clk-tck "$(getconf CLK_TCK)" --out "$R/phases.jsonl" --timeout-s 120 \
        --phase-timeout-s 300 --image-size 960x640 "$@" >>"$R/driver.log" 2>&1
    }
    driver --phase warm --concurrency 16 --warmup 0 --requests 400
    driver --phase warm-region --concurrency 4 --warmup 0 --requests 100 --question "$REGION"
    driver --phase c1-plain --concurrency 1 --warmup 5 --requests 30
    driver --phase c1-region --concurrency 1 --warmup 5 --requests 30 --question "$REGION"
    driver --phase c4-region --concurrency 4 --warmup 8 --requests 80 --question "$REGION"
    driver --phase c16-plain --concurrency 16 --warmup 16 --requests 160
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
done

python3 - "$OUT" "$ROUNDS" "$(git rev-parse --short=12 HEAD)" "$OFF_FLAG" "$TITLE" >"$REPORT" <<'PY'
import json, statistics, sys, os
out, rounds, head, off_flag, title = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def phases(side, r):
    return {d['phase']: d for d in map(json.loads, open(f'{out}/r{r}-{side}/phases.jsonl'))}
data = {s: [phases(s, r) for r in range(1, rounds + 1)] for s in ('on', 'off')}
def p50(d): return d['latency_ms']['p50']
def grp(name):
    return lambda d: d['cpu_ms_per_request_by_thread_group'].get(name, 0.0)
rows = [
    ('c=1 plain: client p50 (ms)', 'c1-plain', p50),
    ('c=1 region: client p50 (ms)', 'c1-region', p50),
    ('c=4 region: throughput (req/s)', 'c4-region', lambda d: d['req_per_s']),
    ('c=4 region: CPU per request (ms)', 'c4-region', lambda d: d['cpu_ms_per_request']),
    ('c=16 plain: throughput (req/s)', 'c16-plain', lambda d: d['req_per_s']),
    ('c=16 plain: client p50 (ms)', 'c16-plain', p50),
    ('c=16 plain: CPU per request (ms)', 'c16-plain', lambda d: d['cpu_ms_per_request']),
    ('c=16 plain: gRPC transport CPU per request (ms)', 'c16-plain',
     grp('gRPC transport (Netty, clients and server)')),
    ('c=4 region: gRPC transport CPU per request (ms)', 'c4-region',
     grp('gRPC transport (Netty, clients and server)')),
    ('c=16 plain: Kafka broker CPU per request (ms)', 'c16-plain', grp('Kafka broker (embedded)')),
    ('c=16 plain: Kafka producer I/O CPU per request (ms)', 'c16-plain',
     grp('Kafka producer I/O (all services)')),
]
print(f'# {title}')
print()
print('Generated by `scripts/bench-shared-memory.sh` (do not edit by hand).')
print()
print(f'- Build: `{head}` (working tree), `./ferret up` (on) against `./ferret up {off_flag}`'
      f' (off), run alternately, {rounds} rounds per side; medians over the rounds.')
print(f'- Machine: nproc {os.cpu_count()}; load driver `ai.ferretstream.bench.PipelineLoad`.')
print('- Plain: "Where is the red object?"; region: "What is in [600, 550, 850, 900] <region_fea>?";'
      ' a synthetic 960x640 PNG (3x2 grid), non-streamed OpenAI chat completions.')
print()
print('| figure | off | on | ratio on / off |')
print('|---|---:|---:|---:|')
for label, phase, f in rows:
    off = statistics.median(f(d[phase]) for d in data['off'])
    on = statistics.median(f(d[phase]) for d in data['on'])
    ratio = f'{on / off:.2f}' if off else 'n/a'
    print(f'| {label} | {off:,.1f} | {on:,.1f} | {ratio} |')
print()
errors = sum(d[p]['errors'] for s in data.values() for d in s for p in d)
print(f'Failed requests: {errors}.')
print()
print('Per round (off / on): ' + '; '.join(
    f'{label}: ' + ', '.join(f'{f(d[phase]):,.1f}' for d in data['off']) + ' / '
    + ', '.join(f'{f(d[phase]):,.1f}' for d in data['on'])
    for label, phase, f in rows[:5]))
PY
log "wrote $REPORT (raw results in $OUT)"
