//! The latency harness's own cost per timed run: a runner whose inference takes no time, so
//! everything measured is bookkeeping (recording the duration, the budget, the progress bar,
//! and the periodic early-stopping bound).

use std::hint::black_box;
use std::ops::ControlFlow;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ready::checks::latency::time_runs;
use ready::config::LatencyConfig;
use ready::progress::Progress;
use ready::runtime::{Batch, InferenceError, IoSpec, ModelRunner, NamedOutput};

/// Answers instantly: every measured nanosecond is harness overhead.
struct Instant1us;

impl ModelRunner for Instant1us {
    fn inputs(&self) -> &[IoSpec] {
        &[]
    }
    fn outputs(&self) -> &[IoSpec] {
        &[]
    }
    fn run(&self, _: &Batch) -> Result<Vec<NamedOutput>, InferenceError> {
        Ok(Vec::new())
    }
    fn bench(&self, _: &Batch, on_run: &mut dyn FnMut(Duration) -> ControlFlow<()>) -> Result<(), InferenceError> {
        while on_run(Duration::from_micros(1)).is_continue() {}
        Ok(())
    }
    fn fork(&self) -> Result<Box<dyn ModelRunner>, InferenceError> {
        Ok(Box::new(Instant1us))
    }
}

fn bench_harness(c: &mut Criterion) {
    const RUNS: usize = 10_000;
    let config = LatencyConfig { runs: RUNS, max_seconds: 1e9, early_stop: false, ..LatencyConfig::default() };
    let mut group = c.benchmark_group("latency harness");
    group.throughput(Throughput::Elements(RUNS as u64));
    group.bench_function("10k runs, no thresholds", |b| {
        b.iter(|| {
            let mut progress = Progress::new(RUNS as u64, "bench", false);
            time_runs(&Instant1us, black_box(&Vec::new()), &config, &[], &mut progress).unwrap()
        })
    });
    let early = LatencyConfig { early_stop: true, ..config.clone() };
    group.bench_function("10k runs, p99 early-stop checks every 64 runs", |b| {
        b.iter(|| {
            let mut progress = Progress::new(RUNS as u64, "bench", false);
            // A limit below 1 µs never decides, so every check runs and the loop goes to 10k.
            time_runs(&Instant1us, black_box(&Vec::new()), &early, &[("p99", 0.99, 0.0005)], &mut progress).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_harness);
criterion_main!(benches);
