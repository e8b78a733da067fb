#!/usr/bin/env bash
# Tiler benchmark: this project's tiler (JMH) and Pillow doing the same work on the same images,
# one after the other on this machine, then a Markdown report with the ratios.
#
#   scripts/bench-tiler.sh [REPORT]      (default REPORT: docs/bench/tiler.md)
#
# Needs Debian's python3-pil and python3-numpy (/usr/bin/python3). The images are generated
# deterministically into target/bench-images on the first run. BENCH_PILLOW_SECONDS (default 10)
# sets the Pillow run length per image. Run it on an otherwise idle machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPORT="${1:-$ROOT/docs/bench/tiler.md}"
IMAGES="$ROOT/target/bench-images"
OUT="$ROOT/target/bench"
mkdir -p "$OUT"

cd "$ROOT"
echo "bench-tiler: building the benchmarks jar ..." >&2
./mvnw -B -q -DskipTests -Dspotless.check.skip=true package -pl benchmarks -am >&2

echo "bench-tiler: Pillow baseline ..." >&2
/usr/bin/python3 tiler-service/bench/pillow_bench.py --images "$IMAGES" \
  --seconds "${BENCH_PILLOW_SECONDS:-10}" --json "$OUT/pillow.json" >&2

echo "bench-tiler: Ferret Stream (JMH) ..." >&2
threads="$(nproc)"
# replaces the benchmark's own jvmArgsAppend, so it repeats them
JVM_ARGS="--add-modules=jdk.incubator.vector -Xms1g -Xmx1g -Dbench.images=$IMAGES"
java -jar benchmarks/target/benchmarks.jar TilerBenchmark \
  -p kernels=vector,scalar -p threads=1 \
  -jvmArgsAppend "$JVM_ARGS" -rf json -rff "$OUT/jmh-1.json" >&2
if [[ "$threads" -gt 1 ]]; then
  java -jar benchmarks/target/benchmarks.jar TilerBenchmark \
    -p kernels=vector -p "threads=$threads" \
    -jvmArgsAppend "$JVM_ARGS" -rf json -rff "$OUT/jmh-n.json" >&2
  /usr/bin/python3 -c 'import json,sys; print(json.dumps(sum((json.load(open(f)) for f in sys.argv[1:]), [])))' \
    "$OUT/jmh-1.json" "$OUT/jmh-n.json" > "$OUT/jmh.json"
else
  cp "$OUT/jmh-1.json" "$OUT/jmh.json"
fi

mkdir -p "$(dirname "$REPORT")"
/usr/bin/python3 tiler-service/bench/report.py --pillow "$OUT/pillow.json" --jmh "$OUT/jmh.json" \
  > "$REPORT"
echo "bench-tiler: wrote $REPORT" >&2
cat "$REPORT"
