#!/usr/bin/env bash
# Whole-pipeline benchmark: the stack of a baseline commit against the working tree's, run
# alternately on this machine (baseline, result, baseline, result, ...), one stack at a time, the
# same load driver (benchmarks: ai.ferretstream.bench.PipelineLoad) for both. Writes a Markdown
# report with the median of every figure over the rounds and the ratio result / baseline.
#
#   scripts/bench-pipeline.sh BASELINE_COMMIT [ROUNDS]        (ROUNDS per side, default 2)
#
# Per round and side: one stack with the side's dev models for the request figures (c=1 with a
# 960x640 = 3x2 and a 640x480 = 2x2 image, c=4, c=16: latency, stage timings, model compute, CPU,
# Kafka log bytes, allocation and GC), then one stack for the LLM-stream figure (a copy of the
# model repository with ferret_llm at 64 instances, --partitions 4; the result side also sets
# ferret_llm's token_interval_ms = 50) for the result, and again with -Dferret.llm.max-generations=4
# (the llm's old limit: one generation per partition): 1 stream alone vs 32 concurrent streams.
#
# The baseline is built in a git worktree (BENCH_BASELINE_DIR, default /tmp/ferret-baseline), the
# working tree in place: ./mvnw package -pl launcher,benchmarks -am (offline first, then online);
# never `install`. The launcher jars and model repositories are copied before the first run, so
# later edits of the checkout do not change a run. Ports 8080, 9092 and 8001 must be free.
#
# Environment (all optional):
#   BENCH_QUICK=1           small counts and 1 round (unless ROUNDS is given): a smoke test
#   BENCH_SKIP_BUILD=1      build nothing: use the jars already there
#   BENCH_CANDIDATE_JAR=F   the "result" launcher jar (instead of the working tree's; not built)
#   BENCH_CANDIDATE_REPO=D  the "result" model repository (default: the working tree's)
#   BENCH_CANDIDATE_JVM_OPTIONS=...  the "result" JVM options with BENCH_CANDIDATE_JAR (default
#                           none; otherwise each side's launcher/jvm.options, as ./ferret up uses)
#   BENCH_DRIVER_CP=CP      class path of the load driver (default benchmarks/target/benchmarks.jar)
#   BENCH_BASELINE_DIR=D    the baseline worktree (default /tmp/ferret-baseline)
#   BENCH_JAVA_OPTS=...     the stack JVM's options (default -Xmx4g)
#   BENCH_PORT / BENCH_KAFKA_PORT / BENCH_GRPC_PORT   (default 8080 / 9092 / 8001)
#   BENCH_SKIP_LLM=1        leave out the LLM-stream stacks
#   BENCH_OUT=D             raw results (default target/bench/pipeline; emptied first)
#   BENCH_REPORT=F          the report (default docs/bench/pipeline.md)
#   MAVEN_ARGS              extra Maven flags
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}
[[ $# -ge 1 && $# -le 2 && "$1" != -* ]] || usage

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASELINE_REF="$1"
QUICK="${BENCH_QUICK:-0}"
if [[ $# -ge 2 ]]; then
  ROUNDS="$2"
elif [[ "$QUICK" == 1 ]]; then
  ROUNDS=1
else
  ROUNDS=2
fi
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-pipeline: ROUNDS must be a positive integer" >&2; exit 2; }

BASE_DIR="${BENCH_BASELINE_DIR:-/tmp/ferret-baseline}"
OUT="${BENCH_OUT:-$ROOT/target/bench/pipeline}"
REPORT="${BENCH_REPORT:-$ROOT/docs/bench/pipeline.md}"
JAVA_OPTS="${BENCH_JAVA_OPTS:--Xmx4g}"
PORT="${BENCH_PORT:-8080}"
KAFKA_PORT="${BENCH_KAFKA_PORT:-9092}"
GRPC_PORT="${BENCH_GRPC_PORT:-8001}"
URL="http://localhost:$PORT"
DRIVER_CP="${BENCH_DRIVER_CP:-$ROOT/benchmarks/target/benchmarks.jar}"
PY="/usr/bin/python3"
[[ -x "$PY" ]] || PY="python3"
HELPER="$ROOT/scripts/bench_pipeline_report.py"
CLK_TCK="$(getconf CLK_TCK)"
LLM_INTERVAL_MS=50
LLM_INSTANCES=64
LAUNCHER_JAR="launcher/target/launcher-0.1.0-SNAPSHOT-exec.jar"

# counts: warm-up / measured requests per phase
if [[ "$QUICK" == 1 ]]; then
  WARM_REQ=8 C1_WARM=2 C1_REQ=6 C4_WARM=4 C4_REQ=12 C16_WARM=16 C16_REQ=32 LLM_WARM=2 LLM_SINGLES=2
  LLM_STACK_WARM=8 LLM32_WARM=8
else
  # the one-JVM stack compiles code (C2) for its first ~2,000 requests: measure it warm, as a
  # server runs, not while the JIT still takes a sizeable share of the CPU (after 900 warm-up
  # requests the compiler threads still took ~60 ms of CPU per request in the c=1 phase, on both
  # sides); the c=1 phases get their own warm-up at c=1
  WARM_REQ=2000 C1_WARM=40 C1_REQ=20 C4_WARM=8 C4_REQ=60 C16_WARM=16 C16_REQ=160 LLM_WARM=4 LLM_SINGLES=3
  # the LLM stack too: three waves of 32 streams before anything is measured (with 8 warm-up
  # streams only, the JIT took a third of the CPU while the 32 streams were measured)
  LLM_STACK_WARM=96 LLM32_WARM=32
fi
COUNTS="warm-up phase c=16 x $WARM_REQ; c=1 ${C1_WARM}+${C1_REQ} per image; c=4 ${C4_WARM}+${C4_REQ}; c=16 ${C16_WARM}+${C16_REQ}; LLM stack warm-up ${LLM_STACK_WARM} streams at c=32, then ${LLM_WARM} warm-up + ${LLM_SINGLES} single streams, ${LLM32_WARM} + 32 concurrent"

log() { echo "bench-pipeline: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# build

# mvn_package DIR MODULES: offline first (fast, no network), then online if something is missing
mvn_package() {
  local dir="$1" modules="$2"
  # shellcheck disable=SC2086
  if ! (cd "$dir" && ./mvnw -B -q -o package -DskipTests -Dspotless.check.skip=true \
      -pl "$modules" -am ${MAVEN_ARGS:-}) >"$OUT/build-$(basename "$dir").log" 2>&1; then
    log "offline build in $dir failed; retrying online (see $OUT/build-$(basename "$dir").log)"
    # shellcheck disable=SC2086
    (cd "$dir" && ./mvnw -B -q package -DskipTests -Dspotless.check.skip=true \
      -pl "$modules" -am ${MAVEN_ARGS:-}) >&2
  fi
}

case "$(cd "$(dirname "$OUT")" 2>/dev/null && pwd)/$(basename "$OUT")" in
  / | "$ROOT" | "$HOME" | //*) log "refusing BENCH_OUT=$OUT"; exit 2 ;;
esac
rm -rf "$OUT"
mkdir -p "$OUT/runs" "$OUT/jars" "$OUT/repos" "$(dirname "$REPORT")"

BASELINE_COMMIT="$(git -C "$ROOT" rev-parse --verify "$BASELINE_REF^{commit}")"
BASELINE_SUBJECT="$(git -C "$ROOT" log -1 --format=%s "$BASELINE_COMMIT")"
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  if git -C "$BASE_DIR" rev-parse --git-dir >/dev/null 2>&1; then
    log "refreshing the baseline worktree $BASE_DIR at ${BASELINE_COMMIT:0:12}"
    git -C "$BASE_DIR" checkout -q -f --detach "$BASELINE_COMMIT"
    git -C "$BASE_DIR" clean -q -fd
  else
    log "creating the baseline worktree $BASE_DIR at ${BASELINE_COMMIT:0:12}"
    git -C "$ROOT" worktree prune
    git -C "$ROOT" worktree add -q --detach "$BASE_DIR" "$BASELINE_COMMIT"
  fi
  log "building the baseline launcher ..."
  mvn_package "$BASE_DIR" launcher
else
  have="$(git -C "$BASE_DIR" rev-parse HEAD 2>/dev/null || echo none)"
  [[ "$have" == "$BASELINE_COMMIT" ]] ||
    { log "BENCH_SKIP_BUILD: $BASE_DIR is at $have, not $BASELINE_COMMIT"; exit 1; }
fi

if [[ -n "${BENCH_CANDIDATE_JAR:-}" ]]; then
  CANDIDATE_JAR_SRC="$BENCH_CANDIDATE_JAR"
  RESULT_DESC="the launcher jar \`$BENCH_CANDIDATE_JAR\` (BENCH_CANDIDATE_JAR)"
  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 && -z "${BENCH_DRIVER_CP:-}" ]]; then
    log "building the load driver (benchmarks) ..."
    mvn_package "$ROOT" benchmarks
  fi
else
  CANDIDATE_JAR_SRC="$ROOT/$LAUNCHER_JAR"
  head_short="$(git -C "$ROOT" rev-parse --short=12 HEAD)"
  dirty="$(git -C "$ROOT" status --porcelain | wc -l)"
  RESULT_DESC="the working tree: \`$head_short\`"
  if [[ "$dirty" -gt 0 ]]; then
    RESULT_DESC="$RESULT_DESC + uncommitted changes ($dirty files changed or new)"
  fi
  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "building the working tree's launcher and the load driver ..."
    mvn_package "$ROOT" launcher,benchmarks
  fi
fi

for f in "$BASE_DIR/$LAUNCHER_JAR" "$CANDIDATE_JAR_SRC"; do
  [[ -f "$f" ]] || { log "missing $f"; exit 1; }
done
cp "$BASE_DIR/$LAUNCHER_JAR" "$OUT/jars/baseline.jar"
cp "$CANDIDATE_JAR_SRC" "$OUT/jars/result.jar"
# each side's own JVM options (launcher/jvm.options, as ./ferret reads them; none if absent)
jvm_options() { [[ -f "$1" ]] && grep -v '^[[:space:]]*#' "$1" | tr '\n' ' ' || true; }
jvm_options "$BASE_DIR/launcher/jvm.options" >"$OUT/jars/baseline.jvm-options"
if [[ -n "${BENCH_CANDIDATE_JAR:-}" ]]; then
  printf '%s' "${BENCH_CANDIDATE_JVM_OPTIONS:-}" >"$OUT/jars/result.jvm-options"
else
  jvm_options "$ROOT/launcher/jvm.options" >"$OUT/jars/result.jvm-options"
fi
cp -r "$BASE_DIR/inference-server/model-repository" "$OUT/repos/baseline"
cp -r "${BENCH_CANDIDATE_REPO:-$ROOT/inference-server/model-repository}" "$OUT/repos/result"
# the driver too, so that a rebuild of benchmarks/ during the run changes nothing
if [[ "$DRIVER_CP" == *.jar && "$DRIVER_CP" != *:* ]]; then
  [[ -f "$DRIVER_CP" ]] || { log "missing the load driver $DRIVER_CP"; exit 1; }
  cp "$DRIVER_CP" "$OUT/jars/driver.jar"
  DRIVER_CP="$OUT/jars/driver.jar"
fi
"$PY" "$HELPER" llm-repo "$OUT/repos/baseline" "$OUT/repos/baseline-llm" \
  --instances "$LLM_INSTANCES"
"$PY" "$HELPER" llm-repo "$OUT/repos/result" "$OUT/repos/result-llm" \
  --instances "$LLM_INSTANCES" --token-interval-ms "$LLM_INTERVAL_MS"
# the result once more with the llm's old concurrency: one generation per partition (4)
cp "$OUT/jars/result.jar" "$OUT/jars/result-pinned.jar"
printf '%s -Dferret.llm.max-generations=4' "$(cat "$OUT/jars/result.jvm-options")" \
  >"$OUT/jars/result-pinned.jvm-options"
cp -r "$OUT/repos/result-llm" "$OUT/repos/result-pinned-llm"

# ---------------------------------------------------------------------------------------------
# stacks

STACK_PID=""
RUN_DIR=""
BOOTSTRAP=""

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_stack() {
  [[ -n "$STACK_PID" ]] || return 0
  if kill -0 "$STACK_PID" 2>/dev/null; then
    kill -TERM "$STACK_PID" 2>/dev/null || true
    for _ in $(seq 1 60); do
      kill -0 "$STACK_PID" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$STACK_PID" 2>/dev/null; then
      log "stack $STACK_PID still running after 30 s: SIGKILL"
      kill -KILL "$STACK_PID" 2>/dev/null || true
    fi
  fi
  wait "$STACK_PID" 2>/dev/null || true
  # ONNX Runtime writes /tmp/mat-debug-PID.log whatever java.io.tmpdir says
  local mat="/tmp/mat-debug-$STACK_PID.log"
  if [[ -f "$mat" ]]; then
    if [[ -s "$mat" && -n "$RUN_DIR" ]]; then mv "$mat" "$RUN_DIR/"; else rm -f "$mat"; fi
  fi
  STACK_PID=""
  # the broker's log directory and the other temporary files of that JVM
  [[ -n "$RUN_DIR" ]] && rm -rf "$RUN_DIR/tmp"
}
trap 'stop_stack' EXIT
trap 'exit 130' INT TERM

driver() {
  # shellcheck disable=SC2086
  java -XX:+UseSerialGC -Xmx512m -cp "$DRIVER_CP" ai.ferretstream.bench.PipelineLoad "$@"
}

# start_stack JAR REPO [ARGS...]: starts the stack in RUN_DIR; 0 once one request was answered
start_stack() {
  local jar="$1" repo="$2"
  shift 2
  local p
  for p in "$PORT" "$KAFKA_PORT" "$GRPC_PORT"; do
    if port_busy "$p"; then
      log "port $p is in use (another stack?): stop it or set BENCH_PORT/BENCH_KAFKA_PORT/BENCH_GRPC_PORT"
      return 1
    fi
  done
  mkdir -p "$RUN_DIR/tmp"
  # as ./ferret up starts it (without its rebuild check, with the side's launcher/jvm.options),
  # GC log with wall-clock times
  local own
  own="$(cat "${jar%.jar}.jvm-options" 2>/dev/null || true)"
  # shellcheck disable=SC2086
  java --add-modules jdk.incubator.vector $own $JAVA_OPTS -Djava.io.tmpdir="$RUN_DIR/tmp" \
    "-Xlog:gc:file=$RUN_DIR/gc-%p.log:uptime,timemillis" \
    -jar "$jar" up --model-repository "$repo" --port "$PORT" --kafka-port "$KAFKA_PORT" \
    --grpc-port "$GRPC_PORT" "$@" >"$RUN_DIR/stack.log" 2>&1 &
  STACK_PID=$!
  local t0=$SECONDS
  until curl -sf -m 5 "$URL/actuator/health" 2>/dev/null | grep -q '"status":"UP"'; do
    if ! kill -0 "$STACK_PID" 2>/dev/null; then
      log "the stack exited during start-up (see $RUN_DIR/stack.log)"
      return 1
    fi
    if ((SECONDS - t0 > 300)); then
      log "the stack is not UP after 300 s (see $RUN_DIR/stack.log)"
      return 1
    fi
    sleep 1
  done
  # the launcher prints where its broker listens (it may not be --kafka-port)
  BOOTSTRAP="$(grep -o 'kafka broker up at [^ ]*' "$RUN_DIR/stack.log" | tail -n 1 | awk '{print $5}' || true)"
  BOOTSTRAP="${BOOTSTRAP:-localhost:$KAFKA_PORT}"
  log "  UP after $((SECONDS - t0)) s (pid $STACK_PID, broker $BOOTSTRAP); waiting for a first answer"
  driver --url "$URL" --wait-ready 180 >>"$RUN_DIR/driver.log" 2>&1 || {
    log "no answer from the stack (see $RUN_DIR/driver.log, $RUN_DIR/stack.log)"
    return 1
  }
}

# phase NAME [driver options...]
phase() {
  local name="$1"
  shift
  log "  phase $name"
  driver --url "$URL" --bootstrap "$BOOTSTRAP" --grpc "localhost:$GRPC_PORT" --pid "$STACK_PID" \
    --clk-tck "$CLK_TCK" --phase "$name" --out "$RUN_DIR/phases.jsonl" --timeout-s 120 \
    --phase-timeout-s 300 "$@" >>"$RUN_DIR/driver.log" 2>&1
}

# run_stack SIDE KIND ROUND: one stack, its phases, stopped again; records RUN_DIR/run.json
FAILED=0
run_stack() {
  local side="$1" kind="$2" round="$3"
  RUN_DIR="$OUT/runs/r$round-$side-$kind"
  mkdir -p "$RUN_DIR"
  local ok=true err="" load_before
  load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
  log "round $round: $side, $kind stack"
  if [[ "$kind" == main ]]; then
    if start_stack "$OUT/jars/$side.jar" "$OUT/repos/$side"; then
      phase warm --image-size 960x640 --concurrency 16 --warmup 0 --requests "$WARM_REQ" &&
        phase c1-3x2 --image-size 960x640 --concurrency 1 --warmup "$C1_WARM" --requests "$C1_REQ" &&
        phase c1-2x2 --image-size 640x480 --concurrency 1 --warmup "$C1_WARM" --requests "$C1_REQ" &&
        phase c4 --image-size 960x640 --concurrency 4 --warmup "$C4_WARM" --requests "$C4_REQ" &&
        phase c16 --image-size 960x640 --concurrency 16 --warmup "$C16_WARM" --requests "$C16_REQ" ||
        { ok=false; err="a phase failed"; }
    else
      ok=false
      err="the stack did not start"
    fi
  else
    if start_stack "$OUT/jars/$side.jar" "$OUT/repos/$side-llm" --partitions 4; then
      phase llm-warm --stream --image-size 640x480 --concurrency 32 --warmup 0 \
        --requests "$LLM_STACK_WARM" &&
        phase llm-1 --stream --image-size 640x480 --concurrency 1 --warmup "$LLM_WARM" \
        --requests "$LLM_SINGLES" &&
        phase llm-32 --stream --image-size 640x480 --concurrency 32 --warmup "$LLM32_WARM" --requests 32 ||
        { ok=false; err="a phase failed"; }
    else
      ok=false
      err="the stack did not start"
    fi
  fi
  stop_stack
  if [[ "$ok" != true ]]; then
    log "  FAILED: $err"
    [[ "$kind" == main ]] && FAILED=1
  fi
  printf '{"side":"%s","kind":"%s","round":%d,"ok":%s,"error":"%s","load_before":"%s","load_after":"%s"}\n' \
    "$side" "$kind" "$round" "$ok" "$err" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    >"$RUN_DIR/run.json"
}

# ---------------------------------------------------------------------------------------------
# rounds: baseline and result alternately

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
START=$SECONDS
for round in $(seq 1 "$ROUNDS"); do
  run_stack baseline main "$round"
  run_stack result main "$round"
  if [[ "${BENCH_SKIP_LLM:-0}" != 1 ]]; then
    # the baseline cannot pace its dev LLM: the comparison is the result's llm with 64
    # generations against the same llm limited to one generation per partition, as before
    run_stack result llm "$round"
    run_stack result-pinned llm "$round"
  fi
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
log "all runs done in $((SECONDS - START)) s"

# ---------------------------------------------------------------------------------------------
# report

cmd="scripts/bench-pipeline.sh $BASELINE_REF${2:+ $2}"
for v in BENCH_QUICK BENCH_SKIP_BUILD BENCH_CANDIDATE_JAR BENCH_CANDIDATE_REPO BENCH_DRIVER_CP \
  BENCH_JAVA_OPTS BENCH_SKIP_LLM; do
  [[ -n "${!v:-}" ]] && cmd="$v=${!v} $cmd"
done
JAVA_OPTS="$JAVA_OPTS (both); own launcher/jvm.options: baseline \`$(cat "$OUT/jars/baseline.jvm-options")\`, result \`$(cat "$OUT/jars/result.jvm-options")\`"
export CMD="$cmd" BASELINE_COMMIT BASELINE_SUBJECT RESULT_DESC ROUNDS JAVA_OPTS COUNTS \
  LOAD_BEFORE LOAD_AFTER LLM_INTERVAL_MS LLM_INSTANCES LLM_WARM LLM_SINGLES LLM_STACK_WARM \
  LLM32_WARM OUT
export CPU_MODEL="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
export NPROC="$(nproc)"
export MEM="$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
export JAVA_VERSION="$(java -version 2>&1 | sed -n 1p)"
export DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
"$PY" - <<'EOF'
import json, os
e = os.environ
meta = {
    "command": e["CMD"], "baseline_commit": e["BASELINE_COMMIT"],
    "baseline_subject": e["BASELINE_SUBJECT"], "result_desc": e["RESULT_DESC"],
    "rounds": int(e["ROUNDS"]), "java_opts": e["JAVA_OPTS"], "counts": e["COUNTS"],
    "cpu": e["CPU_MODEL"], "nproc": e["NPROC"], "mem": e["MEM"], "java": e["JAVA_VERSION"],
    "date": e["DATE"], "load_before": e["LOAD_BEFORE"], "load_after": e["LOAD_AFTER"],
    "llm_token_interval_ms": e["LLM_INTERVAL_MS"], "llm_instances": int(e["LLM_INSTANCES"]),
    "llm_warmup": int(e["LLM_WARM"]), "llm_singles": int(e["LLM_SINGLES"]),
    "llm_stack_warmup": int(e["LLM_STACK_WARM"]), "llm32_warmup": int(e["LLM32_WARM"]),
}
with open(os.path.join(e["OUT"], "meta.json"), "w") as f:
    json.dump(meta, f, indent=2)
EOF
"$PY" "$HELPER" report "$OUT" "$REPORT"
rm -rf "$OUT/jars"   # copies of the launchers (150 MB each); the results stay
log "wrote $REPORT (raw results in $OUT)"
exit "$FAILED"
