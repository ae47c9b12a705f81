#!/usr/bin/env bash
# `ready profile` of a ~1 GB Parquet file: wall time and peak resident memory (GNU time).
#
# Data: ROWS rows (default 6,500,000) x 20 float64 columns, zstd, written with pyarrow in 1M-row
# row groups into .tools/profile-1g/reference.parquet (git-ignored; about 1.0 GB at the default).
# The binary: READY_BIN (default target/profiling/ready: the `profiling` profile of Cargo.toml,
# release optimizations without LTO; `cargo build --release` is fat LTO and takes far longer).
#
#   scripts/bench_profile.sh
#   READY_BIN=target/release/ready ROWS=3000000 scripts/bench_profile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "bench_profile: needs GNU time (apt-get install time)" >&2; exit 1; }
ROWS=${ROWS:-6500000}
READY_BIN=${READY_BIN:-target/profiling/ready}
DATA=.tools/profile-1g
mkdir -p "$DATA"
if [ ! -f "$DATA/reference-$ROWS.parquet" ]; then
    .venv/bin/python - "$DATA/reference-$ROWS.parquet" "$ROWS" <<'PY'
import sys
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
out, rows = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(11)
writer = None
for start in range(0, rows, 1_000_000):
    n = min(1_000_000, rows - start)
    table = pa.table({f"f{i}": rng.normal(10.0 * i, 1.0 + i, size=n) for i in range(20)})
    writer = writer or pq.ParquetWriter(out, table.schema, compression="zstd")
    writer.write_table(table)
writer.close()
PY
fi
[ -x "$READY_BIN" ] || cargo build -j1 --profile profiling --locked
echo "$(uname -n): $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
ls -l "$DATA/reference-$ROWS.parquet"
/usr/bin/time -f "ready profile: %e s wall, %M KiB peak RSS, %U s user" "$READY_BIN" profile "$DATA/reference-$ROWS.parquet" -o "$DATA/profile.json" --force
