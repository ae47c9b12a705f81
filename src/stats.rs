//! Latency statistics over a set of measured durations; drift statistics live in [`drift`].
//!
//! Percentiles use the **nearest-rank** method: the p-th percentile of n sorted samples is the
//! sample at rank ⌈p·n⌉ (1-based). Every reported percentile is therefore a latency that was
//! actually observed, never an interpolation between two runs.
//!
//! Upper confidence bounds use order statistics, as MLPerf LoadGen's early stopping does: the
//! number of runs faster than the true p-quantile is Binomial(n, p), so the k-th fastest run
//! bounds the quantile from above with confidence P(Binomial(n, p) ≤ k − 1). The bound is the
//! smallest such k whose confidence reaches the target, and, like LoadGen, it never uses the
//! single slowest run: with confidence 0.99 that needs at least 64 runs for p90 and 662 for p99.

pub mod drift;
pub mod sort;

use std::time::Duration;

use serde::Serialize;

/// Summary statistics in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencySummary {
    pub samples: usize,
    pub min_ms: f64,
    pub mean_ms: f64,
    pub stddev_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// The nearest-rank percentile (`p` in 0..=100) of ascending `sorted` values.
pub fn percentile_nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    // The tolerance absorbs binary rounding (99.9 / 100 · 1000 = 999.0000000000001).
    let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl LatencySummary {
    /// Summarizes measured durations; `None` when there are none.
    pub fn from_durations(durations: &[Duration]) -> Option<Self> {
        let sorted = sorted_ms(durations);
        Self::from_sorted_ms(&sorted)
    }

    /// Summarizes ascending millisecond values.
    pub fn from_sorted_ms(ms: &[f64]) -> Option<Self> {
        let at = |p| percentile_nearest_rank(ms, p);
        let n = ms.len() as f64;
        let mean = ms.iter().sum::<f64>() / n;
        let variance = if ms.len() > 1 { ms.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
        Some(Self {
            samples: ms.len(),
            min_ms: *ms.first()?,
            mean_ms: mean,
            stddev_ms: variance.sqrt(),
            p50_ms: at(50.0)?,
            p90_ms: at(90.0)?,
            p95_ms: at(95.0)?,
            p99_ms: at(99.0)?,
            p999_ms: at(99.9)?,
            max_ms: *ms.last()?,
        })
    }
}

/// Durations as ascending milliseconds.
pub fn sorted_ms(durations: &[Duration]) -> Vec<f64> {
    let mut ms: Vec<f64> = durations.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    ms
}

/// The 1-based rank k of the order statistic that bounds the `quantile` (0..1) from above
/// with at least `confidence`, or `None` when n runs are too few (the bound would be the
/// slowest run).
pub fn upper_bound_rank(n: usize, quantile: f64, confidence: f64) -> Option<usize> {
    if n < 2 || !(0.0..1.0).contains(&quantile) || !(0.0..1.0).contains(&confidence) {
        return None;
    }
    // Y = n − X counts runs at or above the quantile: Y ~ Binomial(n, 1 − quantile).
    // x_(k) bounds the quantile when X ≤ k − 1, i.e. Y ≥ n − k + 1. Find the largest m = n − k
    // with P(Y ≤ m) ≤ 1 − confidence, walking the pmf in log space (no underflow at large n).
    let q = 1.0 - quantile;
    let (ln_q, ln_p) = (q.ln(), quantile.ln());
    let mut log_pmf = n as f64 * ln_p; // P(Y = 0)
    let mut cdf = log_pmf.exp();
    let mut largest = None;
    let mut m = 0usize;
    while cdf <= 1.0 - confidence {
        largest = Some(m);
        if m == n {
            break;
        }
        log_pmf += ((n - m) as f64 / (m + 1) as f64).ln() + ln_q - ln_p;
        m += 1;
        cdf += log_pmf.exp();
    }
    let m = largest?;
    // k = n − m must leave the slowest run out (m ≥ 1).
    (m >= 1).then_some(n - m)
}

/// The upper confidence bound on the `quantile` of ascending `sorted` samples.
pub fn upper_bound(sorted: &[f64], quantile: f64, confidence: f64) -> Option<f64> {
    upper_bound_rank(sorted.len(), quantile, confidence).map(|k| sorted[k - 1])
}

/// The fewest runs for which [`upper_bound_rank`] exists.
pub fn min_runs_for_bound(quantile: f64, confidence: f64) -> usize {
    // The bound exists once P(Y ≤ 1) ≤ 1 − confidence; that probability falls with n.
    let mut n = 2;
    while upper_bound_rank(n, quantile, confidence).is_none() {
        n += 1;
        if n > 10_000_000 {
            break;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_matches_the_textbook_examples() {
        // Wikipedia's nearest-rank example: 15, 20, 35, 40, 50.
        let v = [15.0, 20.0, 35.0, 40.0, 50.0];
        assert_eq!(percentile_nearest_rank(&v, 5.0), Some(15.0));
        assert_eq!(percentile_nearest_rank(&v, 30.0), Some(20.0));
        assert_eq!(percentile_nearest_rank(&v, 40.0), Some(20.0));
        assert_eq!(percentile_nearest_rank(&v, 50.0), Some(35.0));
        assert_eq!(percentile_nearest_rank(&v, 100.0), Some(50.0));
        assert_eq!(percentile_nearest_rank(&[], 50.0), None);
    }

    #[test]
    fn summary_of_one_to_thousand_milliseconds() {
        let durations: Vec<Duration> = (1..=1000).rev().map(Duration::from_millis).collect();
        let s = LatencySummary::from_durations(&durations).unwrap();
        assert_eq!((s.min_ms, s.p50_ms, s.p90_ms, s.p95_ms, s.p99_ms, s.p999_ms, s.max_ms), (1.0, 500.0, 900.0, 950.0, 990.0, 999.0, 1000.0));
        assert!((s.mean_ms - 500.5).abs() < 1e-9);
        // Sample standard deviation of 1..=1000: sqrt(1000·1001/12).
        assert!((s.stddev_ms - (1000.0f64 * 1001.0 / 12.0).sqrt()).abs() < 1e-6, "{}", s.stddev_ms);
        assert!(LatencySummary::from_durations(&[]).is_none());
    }

    #[test]
    fn the_minimum_runs_match_mlperf_loadgen() {
        assert_eq!(min_runs_for_bound(0.90, 0.99), 64);
        assert_eq!(min_runs_for_bound(0.99, 0.99), 662);
        assert_eq!(upper_bound_rank(63, 0.90, 0.99), None);
        assert_eq!(upper_bound_rank(64, 0.90, 0.99), Some(63));
    }

    #[test]
    fn the_bound_sits_above_the_estimate_and_tightens_with_more_runs() {
        let ms: Vec<f64> = (1..=10_000).map(f64::from).collect();
        let bound = upper_bound(&ms, 0.99, 0.99).unwrap();
        assert!(bound > 9900.0 && bound < 9940.0, "{bound}");
        let rank_1k = upper_bound_rank(1000, 0.99, 0.99).unwrap();
        assert!(rank_1k > 990 && rank_1k < 1000, "{rank_1k}");
        // Huge n does not underflow.
        assert!(upper_bound_rank(1_000_000, 0.999, 0.99).is_some());
    }
}
