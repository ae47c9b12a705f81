//! Drift statistics between a reference (training) column and a current (sample) column. Pure
//! functions; the binning is documented in README ("drift") so a profile written elsewhere (Spark,
//! DuckDB) bins the same way.
//!
//! - **Quantile bin edges**: the reference's quantiles at i/k for i = 1..k-1, by linear
//!   interpolation between order statistics (numpy's default `np.quantile`, DuckDB's
//!   `quantile_cont`), duplicates removed. Bins are right-closed: (-inf, e1], (e1, e2], ...,
//!   (e_last, +inf).
//! - **PSI** = Σ (c_i - r_i) · ln(c_i / r_i) over the bins' shares, a share of 0 replaced by
//!   [`EPSILON`] (1e-4).
//! - **KS**: the two-sample Kolmogorov-Smirnov statistic D = sup |F_ref(x) - F_cur(x)|, with the
//!   asymptotic p-value (Kolmogorov distribution, Stephens' small-sample correction).
//! - **Chi-squared** for categories: Σ (o_i - e_i)² / e_i with e_i = n · r_i (r_i ≥ EPSILON),
//!   over the reference's categories plus one bin for every category it never saw.

/// The share that stands in for an empty bin in PSI and chi-squared.
pub const EPSILON: f64 = 1e-4;

/// The `q` quantile (0..=1) of ascending `sorted` values, by linear interpolation.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q.clamp(0.0, 1.0) * last as f64;
    let (below, fraction) = (position.floor() as usize, position.fract());
    let above = (below + 1).min(last);
    Some(sorted[below] + (sorted[above] - sorted[below]) * fraction)
}

/// The inner edges of `bins` quantile bins of ascending `sorted` reference values, without
/// duplicates (a column with few distinct values has fewer bins).
pub fn quantile_edges(sorted: &[f64], bins: usize) -> Vec<f64> {
    let mut edges: Vec<f64> = (1..bins).filter_map(|i| quantile(sorted, i as f64 / bins as f64)).collect();
    edges.dedup();
    edges
}

/// How many `values` fall in each right-closed bin of `edges` (edges.len() + 1 bins).
pub fn bin_counts(values: &[f64], edges: &[f64]) -> Vec<u64> {
    let mut counts = vec![0u64; edges.len() + 1];
    for value in values {
        counts[edges.partition_point(|e| e < value)] += 1;
    }
    counts
}

/// [`bin_counts`] of ascending `sorted` values: one binary search per edge.
pub fn sorted_bin_counts(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    let mut ends: Vec<usize> = edges.iter().map(|e| sorted.partition_point(|v| v <= e)).collect();
    ends.push(sorted.len());
    let mut start = 0;
    ends.into_iter()
        .map(|end| {
            let count = (end - start) as u64;
            start = end;
            count
        })
        .collect()
}

/// The most bins a sample of `sample` values can fill against `reference` values: PSI between
/// two samples of one distribution over k bins is about (k − 1) · (1/sample + 1/reference)
/// (the chi-squared approximation), so at most 1 + budget / (1/sample + 1/reference) bins keep
/// that no-drift PSI within `budget`.
pub fn fillable_bins(sample: usize, reference: u64, budget: f64) -> usize {
    let noise = 1.0 / sample.max(1) as f64 + 1.0 / reference.max(1) as f64;
    let extra = (budget.max(0.0) / noise).floor();
    1 + if extra.is_finite() && extra < 1e9 { extra as usize } else { 1_000_000_000 }
}

/// Merges adjacent bins into at most `groups` groups of about equal reference counts (counts
/// add up; the kept inner edges are a subset of `edges`): `(edges, reference, current)`.
/// With `groups` at least the number of bins, everything is returned unchanged.
pub fn merge_bins(edges: &[f64], reference: &[u64], current: &[u64], groups: usize) -> (Vec<f64>, Vec<u64>, Vec<u64>) {
    if groups >= reference.len() || groups == 0 {
        return (edges.to_vec(), reference.to_vec(), current.to_vec());
    }
    let total: u64 = reference.iter().sum();
    let (mut kept, mut merged_reference, mut merged_current) = (Vec::new(), Vec::new(), Vec::new());
    let (mut cumulative, mut open_reference, mut open_current) = (0u64, 0u64, 0u64);
    for (i, (&r, &c)) in reference.iter().zip(current).enumerate() {
        cumulative += r;
        open_reference += r;
        open_current += c;
        // Close the group once its share of the reference reaches the next 1/groups step.
        let step = (merged_reference.len() + 1) as f64 * total as f64 / groups as f64;
        if i < edges.len() && merged_reference.len() + 1 < groups && cumulative as f64 >= step {
            kept.push(edges[i]);
            merged_reference.push(std::mem::take(&mut open_reference));
            merged_current.push(std::mem::take(&mut open_current));
        }
    }
    merged_reference.push(open_reference);
    merged_current.push(open_current);
    (kept, merged_reference, merged_current)
}

/// Shares of a count vector, an empty bin given [`EPSILON`].
fn shares(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts.iter().map(|&c| if c == 0 || total == 0 { EPSILON } else { c as f64 / total as f64 }).collect()
}

/// The population stability index of `current` counts against `reference` counts, bin by bin.
pub fn psi(reference: &[u64], current: &[u64]) -> f64 {
    shares(reference).iter().zip(shares(current)).map(|(r, c)| (c - r) * (c / r).ln()).sum()
}

/// The two-sample KS statistic of two ascending samples.
pub fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    d
}

/// The KS statistic of ascending `current` values against a reference known only through its
/// quantiles at evenly spaced levels (`quantiles[k]` at k / (len - 1)). The reference CDF is
/// read as a step function, the share of levels at or below x, which is within one level's
/// spacing (1/1000 in a profile) of the true CDF, ties included; both CDFs are compared just
/// before and at every sample value, where the supremum lies.
pub fn ks_against_quantiles(quantiles: &[f64], current: &[f64]) -> f64 {
    let steps = quantiles.len().saturating_sub(1).max(1) as f64;
    let reference_cdf = |levels: usize| if levels == 0 { 0.0 } else { (levels - 1) as f64 / steps };
    let m = current.len() as f64;
    let mut d = 0f64;
    let mut i = 0;
    while i < current.len() {
        let x = current[i];
        let below = i;
        while i < current.len() && current[i] <= x {
            i += 1;
        }
        let at = reference_cdf(quantiles.partition_point(|q| *q <= x));
        let before = reference_cdf(quantiles.partition_point(|q| *q < x));
        d = d.max((at - i as f64 / m).abs()).max((before - below as f64 / m).abs());
    }
    d
}

/// The asymptotic p-value of KS statistic `d` for samples of `n` and `m` values.
pub fn ks_p_value(d: f64, n: usize, m: usize) -> f64 {
    let effective = (n as f64 * m as f64 / (n + m) as f64).sqrt();
    let lambda = (effective + 0.12 + 0.11 / effective) * d;
    if lambda < 1e-3 {
        return 1.0;
    }
    let sum: f64 = (1..=100).map(|k| (-1f64).powi(k - 1) * (-2.0 * (k as f64 * lambda).powi(2)).exp()).sum();
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Pearson's chi-squared of `current` counts against `reference` counts (bin by bin), and its
/// p-value with bins - 1 degrees of freedom.
pub fn chi_squared(reference: &[u64], current: &[u64]) -> (f64, f64) {
    let n: u64 = current.iter().sum();
    let expected = shares(reference);
    let statistic: f64 = expected
        .iter()
        .zip(current)
        .map(|(r, &o)| {
            let e = r * n as f64;
            (o as f64 - e).powi(2) / e
        })
        .sum();
    let dof = reference.len().saturating_sub(1).max(1) as f64;
    (statistic, upper_gamma_regularized(dof / 2.0, statistic / 2.0))
}

/// Q(a, x) = Γ(a, x) / Γ(a): the chi-squared survival function is Q(dof/2, x/2).
fn upper_gamma_regularized(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let log_prefix = -x + a * x.ln() - ln_gamma(a);
    if x < a + 1.0 {
        // Series for P(a, x).
        let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (1.0 - sum * log_prefix.exp()).clamp(0.0, 1.0)
    } else {
        // Lentz's continued fraction for Q(a, x).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let (mut c, mut d) = (1.0 / tiny, 1.0 / b);
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            d = if d.abs() < tiny { tiny } else { d };
            c = b + an / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let step = d * c;
            h *= step;
            if (step - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (log_prefix.exp() * h).clamp(0.0, 1.0)
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series: f64 = G[0] + G.iter().enumerate().skip(1).map(|(i, g)| g / (x + i as f64)).sum::<f64>();
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_merged_to_what_the_sample_can_fill() {
        // 1000 sample and 5000 reference values: 1 + 0.025 / 0.0012 = 21 bins.
        assert_eq!(fillable_bins(1000, 5000, 0.025), 21);
        assert_eq!(fillable_bins(0, 0, 0.025), 1);
        let edges: Vec<f64> = (1..10).map(f64::from).collect();
        let reference = vec![10u64; 10];
        let current: Vec<u64> = (0..10).collect();
        assert_eq!(merge_bins(&edges, &reference, &current, 10), (edges.clone(), reference.clone(), current.clone()));
        assert_eq!(merge_bins(&edges, &reference, &current, 5), (vec![2.0, 4.0, 6.0, 8.0], vec![20; 5], vec![1, 5, 9, 13, 17]));
        assert_eq!(merge_bins(&edges, &reference, &current, 3), (vec![4.0, 7.0], vec![40, 30, 30], vec![6, 15, 24]));
        assert_eq!(merge_bins(&edges, &reference, &current, 1), (vec![], vec![100], vec![45]));
    }

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 10.0];
        // np.quantile([1,2,3,4,10], [0.25, 0.5, 0.9]) = [2, 3, 7.6]
        assert_eq!(quantile(&sorted, 0.25), Some(2.0));
        assert_eq!(quantile(&sorted, 0.5), Some(3.0));
        assert!(close(quantile(&sorted, 0.9).unwrap(), 7.6, 1e-12));
        assert_eq!(quantile_edges(&sorted, 2), vec![3.0]);
        assert_eq!(quantile_edges(&[5.0, 5.0, 5.0], 4), vec![5.0]);
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn bins_are_right_closed() {
        assert_eq!(bin_counts(&[0.0, 1.0, 1.5, 2.0, 9.0], &[1.0, 2.0]), vec![2, 2, 1]);
        assert_eq!(sorted_bin_counts(&[0.0, 1.0, 1.5, 2.0, 9.0], &[1.0, 2.0]), vec![2, 2, 1]);
        assert_eq!(sorted_bin_counts(&[], &[1.0]), vec![0, 0]);
    }

    #[test]
    fn psi_of_a_hand_computed_case() {
        // Shares 0.5/0.5 against 0.25/0.75: (0.25-0.5)·ln(0.5) + (0.75-0.5)·ln(1.5)
        // = 0.25·ln 2 + 0.25·ln 1.5 = 0.25·ln 3 = 0.274653...
        assert!(close(psi(&[50, 50], &[25, 75]), 0.25 * 3f64.ln(), 1e-12));
        assert_eq!(psi(&[10, 20, 30], &[1, 2, 3]), 0.0);
        // An empty current bin takes EPSILON; shares are not renormalized:
        // (1e-4 - 0.5)·ln(1e-4 / 0.5) + (1 - 0.5)·ln(1 / 0.5)
        let hand = (EPSILON - 0.5) * (EPSILON / 0.5).ln() + 0.5 * 2f64.ln();
        assert!(close(psi(&[5, 5], &[0, 10]), hand, 1e-12));
    }

    #[test]
    fn ks_statistic_of_hand_computed_cases() {
        // scipy.stats.ks_2samp([1,2,3,4], [3,4,5,6]).statistic = 0.5
        assert_eq!(ks_statistic(&[1.0, 2.0, 3.0, 4.0], &[3.0, 4.0, 5.0, 6.0]), 0.5);
        assert_eq!(ks_statistic(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        assert_eq!(ks_statistic(&[1.0, 2.0], &[3.0, 4.0]), 1.0);
        // Ties across samples: [1,1,2] vs [1,2,2]: F at 1 = 2/3 vs 1/3.
        assert!(close(ks_statistic(&[1.0, 1.0, 2.0], &[1.0, 2.0, 2.0]), 1.0 / 3.0, 1e-12));
        // Against the quantiles of 0..=100 (the uniform CDF on [0, 100]), [50, 50] sits at 0.5.
        let levels: Vec<f64> = (0..=100).map(f64::from).collect();
        assert!(close(ks_against_quantiles(&levels, &[50.0, 50.0]), 0.5, 1e-12));
        assert!(close(ks_against_quantiles(&levels, &[200.0]), 1.0, 1e-12));
    }

    #[test]
    fn p_values_match_scipy() {
        // scipy.stats.chi2.sf(3.0, 2) = exp(-1.5) = 0.22313016014842982
        let q = upper_gamma_regularized(1.0, 1.5);
        assert!(close(q, (-1.5f64).exp(), 1e-12), "{q}");
        // scipy.stats.chi2.sf(10.0, 5) = 0.07523524614651217; chi2.sf(2.0, 5) = 0.8491450360846096
        assert!(close(upper_gamma_regularized(2.5, 5.0), 0.07523524614651217, 1e-10));
        assert!(close(upper_gamma_regularized(2.5, 1.0), 0.8491450360846096, 1e-10));
        // Counts 30/70 against 50/50 expected: (30-50)²/50 + (70-50)²/50 = 16, p = chi2.sf(16, 1) = 6.334e-05
        let (statistic, p) = chi_squared(&[50, 50], &[30, 70]);
        assert!(close(statistic, 16.0, 1e-12));
        assert!(close(p, 6.334248366623996e-05, 1e-12), "{p}");
        // scipy.special.kolmogorov(1.0) = 0.26999967167735456 (the sum at lambda = 1)
        let lambda_one = {
            let n = 1_000_000usize;
            let effective = (n as f64 / 2.0).sqrt();
            1.0 / (effective + 0.12 + 0.11 / effective)
        };
        assert!(close(ks_p_value(lambda_one, 1_000_000, 1_000_000), 0.26999967167735456, 1e-9));
    }
}
