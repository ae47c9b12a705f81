//! Latency statistics over a set of measured durations.
//!
//! Percentiles use the **nearest-rank** method: the p-th percentile of n sorted samples is the
//! sample at rank ⌈p·n⌉ (1-based). Every reported percentile is therefore a latency that was
//! actually observed, never an interpolation between two runs.

use std::time::Duration;

use serde::Serialize;

/// Summary statistics in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencySummary {
    pub samples: usize,
    pub min_ms: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The nearest-rank percentile (`p` in 0..=100) of ascending `sorted` values.
pub fn percentile_nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl LatencySummary {
    /// Summarizes measured durations; `None` when there are none.
    pub fn from_durations(durations: &[Duration]) -> Option<Self> {
        let mut ms: Vec<f64> = durations.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let at = |p| percentile_nearest_rank(&ms, p);
        Some(Self {
            samples: ms.len(),
            min_ms: *ms.first()?,
            mean_ms: ms.iter().sum::<f64>() / ms.len() as f64,
            p50_ms: at(50.0)?,
            p95_ms: at(95.0)?,
            p99_ms: at(99.0)?,
            max_ms: *ms.last()?,
        })
    }
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
    fn summary_of_one_to_hundred_milliseconds() {
        let durations: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let s = LatencySummary::from_durations(&durations).unwrap();
        assert_eq!((s.min_ms, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms), (1.0, 50.0, 95.0, 99.0, 100.0));
        assert!((s.mean_ms - 50.5).abs() < 1e-9);
        assert!(LatencySummary::from_durations(&[]).is_none());
    }
}
