#!/usr/bin/env bash
# Drift report speed: Evidently (pinned) and ready on the same generated data, in one run.
#
# Data: ROWS rows (default 10,000,000) x 20 float64 columns f0..f19, written with pyarrow:
# reference.parquet, and current.parquet with f0..f4 shifted (mean +0.1 to +0.5 std) and the
# rest drawn from the same distributions. Both tools compute PSI and the two-sample KS test for
# every column; wall time and peak resident memory (GNU time) are printed, then the per-column
# figures side by side. Binning differs: ready's PSI uses 10 quantile bins of the reference
# (README, "Training reference"), Evidently's PSI uses Sturges equal-width bins over both data
# sets, so their PSI values are shown, not compared; the KS p-values are compared (both are the
# asymptotic two-sample p-value on the same data).
#
#   scripts/bench_drift.sh                 # 10M rows: Evidently needs ~15 GiB
#   ROWS=2000000 scripts/bench_drift.sh
#   EVIDENTLY=0 scripts/bench_drift.sh     # ready only (where Evidently does not fit in memory)
#
# ready is built with the `profiling` profile (release optimizations without LTO; the release
# profile's fat LTO takes far longer on 2 cores); READY_BIN picks another binary.
#
# Evidently and its pinned dependencies go into .tools/bench-drift/venv (git-ignored); the
# data into .tools/bench-drift/data-ROWS. Needs GNU time and the project's .venv (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "bench_drift: needs GNU time (apt-get install time)" >&2; exit 1; }
ROWS=${ROWS:-10000000}
TOOLS=.tools/bench-drift
DATA=$TOOLS/data-$ROWS
scripts/setup.sh
EVIDENTLY=${EVIDENTLY:-1}
export EVIDENTLY READY_BIN=${READY_BIN:-target/profiling/ready}
if [ "$EVIDENTLY" = 1 ] && { [ ! -x "$TOOLS/venv/bin/python" ] || ! "$TOOLS/venv/bin/python" -c "import evidently" 2>/dev/null; }; then
    echo "bench_drift: installing Evidently into $TOOLS/venv" >&2
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet evidently==0.7.23 pandas==2.3.3 numpy==2.4.6 scipy==1.17.1 pyarrow==26.0.1
fi
if [ "$READY_BIN" = target/profiling/ready ]; then
    echo "bench_drift: building the profiling binary" >&2
    cargo build -j1 --profile profiling --locked --quiet
fi
mkdir -p "$DATA"
.venv/bin/python scripts/bench_drift.py generate "$DATA" "$ROWS"
.venv/bin/python scripts/bench_drift.py run "$DATA" "$TOOLS/venv/bin/python"
