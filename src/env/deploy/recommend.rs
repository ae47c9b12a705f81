//! Deployment values recommended from what the audit measured: the memory request and limit,
//! the startup and readiness probe budgets and the CPU, for `ready readme`'s Deployment table,
//! the JSON report's `deployment_recommendation` and `ready init --deploy`.
//!
//! Every value comes from one measured number and one margin; a number that was not measured
//! gives no recommendation (`None`, "not measured"), never a guess. Margins are applied in
//! integers (the margin in millionths, times in nanoseconds, memory in bytes), so 100 MiB x 1.1
//! is exactly 110Mi, not 111Mi from a float that landed a hair above it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Margins, Measured};

const MIB: u64 = 1 << 20;
const NANOS_PER_SECOND: u128 = 1_000_000_000;
/// A startup budget up to this long is probed every 5 s, a longer one every 10 s.
const SHORT_STARTUP: Duration = Duration::from_secs(60);

/// A check's metrics, as reports carry them (the same map as `checks::Metrics`).
pub type Metrics = BTreeMap<String, serde_json::Value>;

/// A memory quantity in whole mebibytes, written the Kubernetes way: `512Mi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mebibytes(pub u64);

impl fmt::Display for Mebibytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Mi", self.0)
    }
}

impl Serialize for Mebibytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mebibytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.strip_suffix("Mi")
            .and_then(|n| n.parse().ok())
            .map(Self)
            .ok_or_else(|| serde::de::Error::custom(format!("'{text}' is not a quantity in Mi")))
    }
}

/// `resources.requests.memory` and `resources.limits.memory`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MemoryRecommendation {
    /// The measured peak, rounded up to a whole Mi.
    pub request: Mebibytes,
    /// The peak x headroom, rounded up to a whole Mi.
    pub limit: Mebibytes,
    pub peak_rss_bytes: u64,
    pub headroom: f64,
}

/// `startupProbe`: `failureThreshold x periodSeconds` covers the cold start x margin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StartupProbe {
    pub period_seconds: u64,
    pub failure_threshold: u64,
    /// The probe's own timeout, as for the readiness probe (`None`: p99 not measured).
    pub timeout_seconds: Option<u64>,
    pub cold_start_ms: f64,
    pub margin: f64,
}

impl StartupProbe {
    /// The time the pod is given to start: `failureThreshold x periodSeconds`.
    pub fn budget_seconds(&self) -> u64 {
        self.failure_threshold * self.period_seconds
    }
}

/// `readinessProbe.timeoutSeconds`: the p99 x margin, in whole seconds, at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReadinessProbe {
    pub timeout_seconds: u64,
    pub p99_ms: f64,
    pub margin: f64,
}

/// `resources.requests.cpu` = `resources.limits.cpu`: the intra-op threads the latency was
/// measured with, one core each.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuRecommendation {
    pub cores: u64,
}

/// Every recommended value; `None` where the number it comes from was not measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub memory: Option<MemoryRecommendation>,
    pub startup_probe: Option<StartupProbe>,
    pub readiness_probe: Option<ReadinessProbe>,
    /// Given only when the latency was measured (the CPU is what that latency needs).
    pub cpu: Option<CpuRecommendation>,
}

/// The margins the recommendations leave above the measured numbers:
/// `checks.deployment.{memory_headroom, startup_margin, probe_timeout_margin}`, the same the
/// deployment check demands.
pub fn margins(config: &crate::config::Config) -> Margins {
    config.checks.deployment.margins()
}

/// The recommended deployment values for what was measured, with these margins.
pub fn recommend(measured: &Measured, margins: &Margins) -> Recommendation {
    let timeout = measured.p99_ms.map(|p99| probe_timeout_seconds(p99, margins.probe_timeout_margin));
    Recommendation {
        memory: measured.peak_rss_bytes.map(|peak| {
            let request = Mebibytes(peak.div_ceil(MIB));
            let limit = Mebibytes(memory_floor_bytes(peak, margins.memory_headroom).div_ceil(MIB)).max(request);
            MemoryRecommendation { request, limit, peak_rss_bytes: peak, headroom: margins.memory_headroom }
        }),
        startup_probe: measured.cold_start.map(|cold| {
            let budget = startup_floor(cold, margins.startup_margin);
            let period: u64 = if budget <= SHORT_STARTUP { 5 } else { 10 };
            let failure_threshold = u64::try_from(budget.as_nanos().div_ceil(u128::from(period) * NANOS_PER_SECOND)).unwrap_or(u64::MAX).max(1);
            StartupProbe {
                period_seconds: period,
                failure_threshold,
                timeout_seconds: timeout,
                cold_start_ms: cold.as_secs_f64() * 1e3,
                margin: margins.startup_margin,
            }
        }),
        readiness_probe: measured.p99_ms.zip(timeout).map(|(p99_ms, timeout_seconds)| ReadinessProbe {
            timeout_seconds,
            p99_ms,
            margin: margins.probe_timeout_margin,
        }),
        cpu: measured.p99_ms.map(|_| {
            let threads = match measured.intra_op_threads {
                0 => crate::machine::Machine::current().logical_cores,
                n => n,
            };
            CpuRecommendation { cores: threads as u64 }
        }),
    }
}

/// The least memory limit that leaves `headroom` over `peak`: `ceil(peak x headroom)` bytes.
pub fn memory_floor_bytes(peak: u64, headroom: f64) -> u64 {
    u64::try_from(scaled_ceil(u128::from(peak), headroom)).unwrap_or(u64::MAX)
}

/// The least startup budget that leaves `margin` over the cold start: `cold x margin`,
/// rounded up to the nanosecond.
pub fn startup_floor(cold_start: Duration, margin: f64) -> Duration {
    let nanos = scaled_ceil(cold_start.as_nanos(), margin);
    Duration::new(u64::try_from(nanos / NANOS_PER_SECOND).unwrap_or(u64::MAX), (nanos % NANOS_PER_SECOND) as u32)
}

/// `timeoutSeconds` for a probe that runs inference: `max(1, ceil(p99 x margin / 1000))`.
pub fn probe_timeout_seconds(p99_ms: f64, margin: f64) -> u64 {
    let p99_ns = (p99_ms * 1e6).round().max(0.0) as u128;
    u64::try_from(scaled_ceil(p99_ns, margin).div_ceil(NANOS_PER_SECOND)).unwrap_or(u64::MAX).max(1)
}

/// `ceil(value x margin)` with the margin taken to millionths.
fn scaled_ceil(value: u128, margin: f64) -> u128 {
    let millionths = (margin * 1e6).round().max(0.0) as u128;
    value.saturating_mul(millionths).div_ceil(1_000_000)
}

/// What was measured, read from the metrics a report carries: the peak from serialization's
/// `peak_rss_after_load_bytes`, the cold start as `session_create_ms + first_inference_ms` (both
/// or nothing), the p99 from latency's `p99_ms`; intra-op threads 0 (ONNX Runtime's default,
/// one per core) become the measuring machine's `logical_cores`. The one place a [`Measured`]
/// is built from an audit.
pub fn measured_from(serialization: Option<&Metrics>, latency: Option<&Metrics>, intra_op_threads: usize, logical_cores: usize) -> Measured {
    let number = |metrics: Option<&Metrics>, key: &str| metrics.and_then(|m| m.get(key)).and_then(serde_json::Value::as_f64);
    let cold_start = number(serialization, "session_create_ms")
        .zip(number(serialization, "first_inference_ms"))
        .and_then(|(session, first)| Duration::try_from_secs_f64((session + first) / 1e3).ok());
    Measured {
        peak_rss_bytes: serialization.and_then(|m| m.get("peak_rss_after_load_bytes")).and_then(serde_json::Value::as_u64),
        cold_start,
        p99_ms: number(latency, "p99_ms").filter(|p| p.is_finite() && *p >= 0.0),
        intra_op_threads: if intra_op_threads == 0 { logical_cores } else { intra_op_threads },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(peak_mib: u64, cold_ms: u64, p99_ms: f64, threads: usize) -> Measured {
        Measured {
            peak_rss_bytes: Some(peak_mib * MIB),
            cold_start: Some(Duration::from_millis(cold_ms)),
            p99_ms: Some(p99_ms),
            intra_op_threads: threads,
        }
    }

    #[test]
    fn memory_is_the_peak_and_the_peak_times_headroom_in_whole_mi() {
        let r = recommend(&measured(1024, 1000, 10.0, 1), &Margins::default());
        let memory = r.memory.unwrap();
        assert_eq!((memory.request.to_string(), memory.limit.to_string()), ("1024Mi".to_string(), "1536Mi".to_string()));
        // A peak one byte over 1 GiB is 1025Mi requested; x1.5 = 1536 MiB + 1.5 bytes: 1537Mi.
        let r = recommend(&Measured { peak_rss_bytes: Some(1024 * MIB + 1), ..Measured::default() }, &Margins::default());
        assert_eq!(r.memory.map(|m| (m.request, m.limit)), Some((Mebibytes(1025), Mebibytes(1537))));
        // Exact arithmetic: 100 MiB x 1.1 is 110Mi (a float product lands a hair above).
        let tight = Margins { memory_headroom: 1.1, ..Margins::default() };
        assert_eq!(recommend(&measured(100, 1, 1.0, 1), &tight).memory.unwrap().limit, Mebibytes(110));
        assert_eq!(memory_floor_bytes(100 * MIB, 1.1), 115_343_360);
        // A headroom under 1 never gives a limit below the request (Kubernetes refuses that).
        let under = Margins { memory_headroom: 0.5, ..Margins::default() };
        assert_eq!(recommend(&measured(512, 1, 1.0, 1), &under).memory.unwrap().limit, Mebibytes(512));
    }

    #[test]
    fn the_startup_probe_covers_the_cold_start_times_the_margin() {
        // 12 ms x 2 = 24 ms: one 5 s period.
        let probe = recommend(&measured(1, 12, 0.02, 1), &Margins::default()).startup_probe.unwrap();
        assert_eq!((probe.period_seconds, probe.failure_threshold, probe.timeout_seconds, probe.budget_seconds()), (5, 1, Some(1), 5));
        // 45 s x 2 = 90 s: past a minute, periods of 10 s, 9 of them.
        let probe = recommend(&measured(1, 45_000, 0.02, 1), &Margins::default()).startup_probe.unwrap();
        assert_eq!((probe.period_seconds, probe.failure_threshold, probe.budget_seconds()), (10, 9, 90));
        // 30 s x 2 = 60 s exactly: still 5 s periods, 12 of them; 30.001 s: 10 s periods, 7.
        let probe = recommend(&measured(1, 30_000, 0.02, 1), &Margins::default()).startup_probe.unwrap();
        assert_eq!((probe.period_seconds, probe.failure_threshold), (5, 12));
        let probe = recommend(&measured(1, 30_001, 0.02, 1), &Margins::default()).startup_probe.unwrap();
        assert_eq!((probe.period_seconds, probe.failure_threshold), (10, 7));
        // 11 s x 2 = 22 s: 5 periods of 5 s (25 s), never 4 (20 s).
        let probe = recommend(&measured(1, 11_000, 0.02, 1), &Margins::default()).startup_probe.unwrap();
        assert_eq!((probe.period_seconds, probe.failure_threshold, probe.cold_start_ms), (5, 5, 11_000.0));
        assert_eq!(startup_floor(Duration::from_millis(11_000), 2.0), Duration::from_secs(22));
    }

    #[test]
    fn probe_timeouts_are_the_p99_times_the_margin_in_whole_seconds_at_least_one() {
        assert_eq!(probe_timeout_seconds(0.0248, 2.0), 1);
        assert_eq!(probe_timeout_seconds(500.0, 2.0), 1);
        assert_eq!(probe_timeout_seconds(500.001, 2.0), 2);
        assert_eq!(probe_timeout_seconds(1100.0, 2.0), 3);
        assert_eq!(probe_timeout_seconds(1000.0, 1.1), 2);
        let readiness = recommend(&measured(1, 1, 2600.0, 1), &Margins::default()).readiness_probe.unwrap();
        assert_eq!((readiness.timeout_seconds, readiness.p99_ms, readiness.margin), (6, 2600.0, 2.0));
    }

    #[test]
    fn cpu_is_the_intra_op_threads_and_zero_means_the_measuring_machines_cores() {
        assert_eq!(recommend(&measured(1, 1, 1.0, 4), &Margins::default()).cpu, Some(CpuRecommendation { cores: 4 }));
        let mut serialization = Metrics::new();
        serialization.insert("session_create_ms".into(), 40.0.into());
        serialization.insert("first_inference_ms".into(), 2.5.into());
        serialization.insert("peak_rss_after_load_bytes".into(), (300 * MIB).into());
        let mut latency = Metrics::new();
        latency.insert("p99_ms".into(), 0.5.into());
        let m = measured_from(Some(&serialization), Some(&latency), 0, 16);
        assert_eq!(
            m,
            Measured { peak_rss_bytes: Some(300 * MIB), cold_start: Some(Duration::from_micros(42_500)), p99_ms: Some(0.5), intra_op_threads: 16 }
        );
        assert_eq!(recommend(&m, &Margins::default()).cpu, Some(CpuRecommendation { cores: 16 }));
        assert_eq!(measured_from(None, None, 2, 16).intra_op_threads, 2);
    }

    #[test]
    fn what_was_not_measured_gets_no_recommendation() {
        let r = recommend(&Measured::default(), &Margins::default());
        assert_eq!(r, Recommendation { memory: None, startup_probe: None, readiness_probe: None, cpu: None });
        // A session created but a first inference that never answered is no cold start.
        let mut serialization = Metrics::new();
        serialization.insert("session_create_ms".into(), 40.0.into());
        let m = measured_from(Some(&serialization), None, 1, 2);
        assert_eq!((m.cold_start, m.p99_ms, m.peak_rss_bytes), (None, None, None));
        // No p99: the startup probe still has its budget, but no timeout is made up.
        let r = recommend(&Measured { cold_start: Some(Duration::from_secs(1)), ..Measured::default() }, &Margins::default());
        assert_eq!(r.startup_probe.map(|p| (p.failure_threshold, p.timeout_seconds)), Some((1, None)));
        assert_eq!((r.readiness_probe, r.cpu), (None, None));
    }

    #[test]
    fn every_recommendation_meets_its_floor_and_is_the_least_that_does() {
        // What the deployment check demands (memory_floor_bytes, startup_floor,
        // probe_timeout_seconds) is met by the recommendation, with nothing to spare.
        for headroom in [1.0, 1.1, 1.25, 1.5, 2.0, 3.3] {
            for peak in [1, MIB - 1, MIB, 100 * MIB + 7, 333 * MIB + 333, 7 << 30] {
                let memory = recommend(
                    &Measured { peak_rss_bytes: Some(peak), ..Measured::default() },
                    &Margins { memory_headroom: headroom, ..Margins::default() },
                )
                .memory
                .unwrap();
                let floor = memory_floor_bytes(peak, headroom);
                assert!(memory.limit.0 * MIB >= floor && (memory.limit.0 - 1) * MIB < floor, "{peak} x {headroom}: {}", memory.limit);
            }
        }
        for margin in [1.0, 1.1, 1.5, 2.0, 3.0] {
            for cold_ms in [0, 1, 2_499, 2_500, 29_999, 30_000, 45_000, 600_000] {
                let cold = Duration::from_millis(cold_ms);
                let margins = Margins { startup_margin: margin, ..Margins::default() };
                let probe = recommend(&Measured { cold_start: Some(cold), ..Measured::default() }, &margins).startup_probe.unwrap();
                let floor = startup_floor(cold, margin);
                let budget = Duration::from_secs(probe.budget_seconds());
                assert!(budget >= floor, "{cold_ms} ms x {margin}");
                assert!(probe.failure_threshold == 1 || budget - Duration::from_secs(probe.period_seconds) < floor, "{cold_ms} ms x {margin}");
            }
        }
    }

    #[test]
    fn quantities_serialize_as_kubernetes_strings_and_read_back() {
        let r = recommend(&measured(512, 1000, 3.0, 2), &Margins::default());
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(json["memory"]["request"], "512Mi");
        assert_eq!(json["memory"]["limit"], "768Mi");
        assert_eq!(serde_json::from_value::<Recommendation>(json).unwrap(), r);
        assert!(serde_json::from_str::<Mebibytes>("\"1Gi\"").unwrap_err().to_string().contains("'1Gi' is not a quantity in Mi"));
    }
}
