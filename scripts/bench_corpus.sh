#!/usr/bin/env bash
# The whole default audit of every corpus model (fixtures/corpus/manifest.json) at its real input
# sizes: the default config plus an input spec giving each input its realistic shape from the
# manifest, no sample. Prints a Markdown table (verdict, wall time, peak resident memory of ready
# and its probe children) and the machine, and writes it to target/bench/corpus.md.
#
#   scripts/bench_corpus.sh            (builds the release binary; needs scripts/corpus.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "bench_corpus: needs GNU time (apt-get install time)" >&2; exit 1; }
scripts/setup.sh
scripts/corpus.sh
echo "bench_corpus: building the release binary" >&2
cargo build --release --locked --quiet
mkdir -p target/bench/corpus
out=target/bench/corpus.md
.venv/bin/python - "$out" <<'PY'
import json, os, platform, subprocess, sys, time

out = sys.argv[1]
models = json.load(open("fixtures/corpus/manifest.json"))["models"]
rows = ["| model | verdict | exit | wall s | peak RSS MiB | input sizes |", "|---|---|---|---|---|---|"]
for m in models:
    shapes = m.get("realistic_shapes") or {}
    config = f"target/bench/corpus/{m['id']}.yaml"
    with open(config, "w") as f:
        f.write("# written by scripts/bench_corpus.sh: the default config at the model's real input sizes\ninputs:\n")
        for name, shape in shapes.items():
            f.write(f"  {json.dumps(name)}: {{shape: {json.dumps(shape)}}}\n")
    # GNU time's %M: the largest resident set of ready or of any probe child it waited for.
    rss = f"target/bench/corpus/{m['id']}.rss"
    started = time.monotonic()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss, "target/release/ready", "audit", m["corpus_path"],
                           "--config", config, "--skip", "lockfile", "--format", "json", "-q"], capture_output=True, text=True)
    wall = time.monotonic() - started
    peak_text = f"{int(open(rss).read().split()[-1]) / 1024:.0f}"
    verdict = json.loads(done.stdout)["verdict"] if done.returncode in (0, 1) else "error: " + done.stderr.strip()[:60]
    sizes = ", ".join(f"{k} {v}" for k, v in shapes.items())
    rows.append(f"| {m['id']} | {verdict} | {done.returncode} | {wall:.1f} | {peak_text} | {sizes} |")
    print(rows[-1], file=sys.stderr)
machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
text = "\n".join(rows) + f"\n\nMachine: {machine}; ONNX Runtime from .venv; default config (latency: up to 2000 runs / 10 s, robustness: 4096-row oversized batch sized to the 1 GiB memory budget).\n"
open(out, "w").write(text)
print(text)
PY
