//! Statistics cost: summarizing and bounding latency samples (run at the end of a latency
//! check, and every 64 runs while early stopping is possible).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ready::stats::{LatencySummary, min_runs_for_bound, sorted_ms, upper_bound_rank};

fn samples(n: u64) -> Vec<Duration> {
    // A deterministic, skewed spread: most runs near 1 ms, a tail up to 5 ms.
    (0..n).map(|i| Duration::from_nanos(1_000_000 + (i * 7919 % 1000) * (i % 97) * 40)).collect()
}

fn bench_stats(c: &mut Criterion) {
    let ten_thousand = samples(10_000);
    c.bench_function("summary of 10k durations (sort + percentiles)", |b| b.iter(|| LatencySummary::from_durations(black_box(&ten_thousand))));
    let sorted = sorted_ms(&ten_thousand);
    c.bench_function("summary of 10k sorted samples", |b| b.iter(|| LatencySummary::from_sorted_ms(black_box(&sorted))));
    c.bench_function("p99 upper bound rank, n = 10k", |b| b.iter(|| upper_bound_rank(black_box(10_000), 0.99, 0.99)));
    c.bench_function("p999 upper bound rank, n = 1M", |b| b.iter(|| upper_bound_rank(black_box(1_000_000), 0.999, 0.99)));
    c.bench_function("minimum runs to bound p99", |b| b.iter(|| min_runs_for_bound(black_box(0.99), 0.99)));
}

criterion_group!(benches, bench_stats);
criterion_main!(benches);
