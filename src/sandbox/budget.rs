//! The audit's own memory budget: which budget applies ([`choose`]: `limits.memory_budget_mb`
//! when the config sets it, else the deployment's declared memory limit capped by this machine,
//! else 1 GiB), how much a probe child may use while ready holds what it holds, and how many
//! rows an oversized batch may ask for once a small batch has measured what one row costs. Pure
//! arithmetic, unit-tested here; the audit, the probe child and the checks apply it.

use serde::{Deserialize, Serialize};

/// One MiB in bytes.
pub const MIB: u64 = 1 << 20;

/// Kept free for ready's own growth (pipes, stacks, libraries) while a child runs.
pub const MARGIN: u64 = 48 * MIB;

/// A batch is asked for only when the estimate says it needs at most this fraction of what the
/// child has left: the estimate comes from a few rows, and the runtime's arena grows in chunks.
pub const SAFETY_DIVISOR: u64 = 2;

/// The largest batch run to measure what a row costs.
pub const MAX_MEASURE_ROWS: usize = 64;

/// Growth that measures a row's cost well enough: far above the allocator's noise.
pub const MEASURED_ENOUGH: u64 = 16 * MIB;

/// The audit's memory budget and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Bytes; 0 = no budget.
    pub bytes: u64,
    /// `config` (`limits.memory_budget_mb` set), `default` (`default: the judged containers
    /// declare different limits: 512Mi, 256Mi` when that is why), or where the deployment
    /// declares the serving container's memory limit (`deploy/k8s.yaml:23 spec...resources.limits.memory`).
    pub source: String,
    /// The limit the deployment declares, when the budget comes from it.
    pub declared_bytes: Option<u64>,
    /// The declared limit was more than this machine has available: the budget is what it has.
    pub capped_by_machine: bool,
}

/// The budget of an audit. `configured`: `limits.memory_budget_mb` in bytes, `explicit` when
/// the user's config sets it (it wins); else the limit the deployment `declared` (bytes, where),
/// capped by what this machine has `available` and never under `floor`; else `configured` (the
/// default). A budget only sizes ready's own batches and sessions, never what the model may use
/// (a probe child always gets [`load_floor`]), so a small declared limit cannot fail a check.
pub fn choose(configured: u64, explicit: bool, declared: Option<(u64, String)>, available: Option<u64>, floor: u64) -> Budget {
    let plain = |source: &str| Budget { bytes: configured, source: source.to_string(), declared_bytes: None, capped_by_machine: false };
    match declared {
        _ if explicit => plain("config"),
        None => plain("default"),
        Some((limit, at)) => {
            let capped_by_machine = available.is_some_and(|a| a < limit);
            let bytes = limit.min(available.unwrap_or(u64::MAX)).max(floor);
            Budget { bytes, source: at, declared_bytes: Some(limit), capped_by_machine }
        }
    }
}

/// Which limit a probe child ran under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// `limits.probe_memory_mb`: the memory the model may use; running out of it is a finding.
    ProbeLimit,
    /// What is left of `limits.memory_budget_mb` beside ready itself: ready's own cost.
    Budget,
    /// Neither is set.
    Unlimited,
}

impl Bound {
    /// How `--verbose` names it: `limit 696.8 MiB (what the memory budget leaves)`.
    pub fn label(self) -> &'static str {
        match self {
            Self::ProbeLimit => "limits.probe_memory_mb",
            Self::Budget => "what the memory budget leaves",
            Self::Unlimited => "no limit",
        }
    }
}

/// The memory limit of one probe child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildLimit {
    /// Bytes (RLIMIT_DATA); 0 = unlimited.
    pub bytes: u64,
    pub bound: Bound,
}

/// The limit of a child started while ready holds `parent_rss` bytes: the probe limit, or what
/// is left of the budget when that is less (never under `floor`, what loading the model needs,
/// so that a budget too small for the model cannot turn into a failed probe). 0 = not set.
pub fn child_limit(budget: u64, probe_limit: u64, parent_rss: u64, floor: u64) -> ChildLimit {
    let left = budget.saturating_sub(parent_rss).saturating_sub(MARGIN).max(floor);
    match (budget, probe_limit) {
        (0, 0) => ChildLimit { bytes: 0, bound: Bound::Unlimited },
        (0, probe) => ChildLimit { bytes: probe, bound: Bound::ProbeLimit },
        (_, probe) if probe != 0 && probe <= left => ChildLimit { bytes: probe, bound: Bound::ProbeLimit },
        _ => ChildLimit { bytes: left, bound: Bound::Budget },
    }
}

/// The least memory a child gets whatever the budget leaves: what loading the model takes,
/// three times the file (the file read, the session's copy of its weights, their prepacked
/// form) plus 96 MiB, or what ready's own peak reached loading it (`loaded_peak`, which also
/// covers a small file whose weights the runtime builds at load time) plus 128 MiB for a
/// request, whichever is more. A model too big for the budget so makes the audit's peak pass
/// the budget (the report says so) rather than fail a probe that could not even load it.
pub fn load_floor(model_bytes: u64, loaded_peak: Option<u64>) -> u64 {
    let from_file = model_bytes.saturating_mul(3).saturating_add(96 * MIB);
    from_file.max(loaded_peak.unwrap_or(0).saturating_add(128 * MIB))
}

/// How the oversized batch was sized: `wanted` rows asked for by the config (`oversized_rows`,
/// fewer only when one row is so large that the request would pass the probe's element cap;
/// never cut by the budget), `rows` run, from `per_row_bytes` measured on a small batch and
/// `available_bytes` left under the child's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizing {
    pub wanted: usize,
    pub rows: usize,
    pub per_row_bytes: u64,
    pub available_bytes: u64,
    pub limit: ChildLimit,
}

/// Rows to ask for: the first of `wanted`, `wanted / 2`, `wanted / 4`, ... (the sizes the
/// halving search walks, so both find the same boundary) that the estimate says fits and is at
/// most `cap` (the rows whose request alone fits, [`input_rows_cap`]), never under 2.
pub fn start_rows(wanted: usize, cap: usize, per_row_bytes: u64, available_bytes: u64) -> usize {
    let fit = available_bytes / per_row_bytes.max(1).saturating_mul(SAFETY_DIVISOR);
    let mut rows = wanted;
    while rows > 2 && (rows as u64 > fit || rows > cap) {
        rows /= 2;
    }
    rows.max(2.min(wanted))
}

/// Copies of a request the runtime may hold at once (ready's tensor, the runtime's value, a
/// kernel's converted input).
pub const REQUEST_COPIES: u64 = 4;

/// The most rows whose request alone (at [`REQUEST_COPIES`] copies) fits in `free` bytes,
/// never under 2.
pub fn input_rows_cap(free: u64, input_bytes_per_row: u64) -> usize {
    usize::try_from(free / input_bytes_per_row.max(1).saturating_mul(REQUEST_COPIES)).unwrap_or(usize::MAX).max(2)
}

/// What one row costs: what a batch of `rows` rows made the child hold beyond what it held
/// with one row's share already in it (`grown`), per added row; never less than twice the
/// row's input bytes (growth that did not show says only that the runtime's arena had room).
pub fn per_row_bytes(grown: u64, rows: usize, input_bytes_per_row: u64) -> u64 {
    let measured = grown / rows.saturating_sub(1).max(1) as u64;
    measured.max(input_bytes_per_row.saturating_mul(2)).max(1)
}

/// The next measuring batch after one of `rows` rows that grew what the child holds by
/// `grown` bytes: twice as many rows, until the growth stands far above the allocator's noise
/// ([`MEASURED_ENOUGH`]), [`MAX_MEASURE_ROWS`] or half of `wanted` is reached, or the next batch
/// could take more than a quarter of what is `available` by the estimate so far.
pub fn next_measure_rows(rows: usize, grown: u64, per_row_bytes: u64, wanted: usize, available: u64) -> Option<usize> {
    let next = rows.saturating_mul(2);
    let too_big = (next as u64).saturating_mul(per_row_bytes).saturating_mul(4) > available;
    (grown < MEASURED_ENOUGH && next <= MAX_MEASURE_ROWS && next <= wanted / 2 && !too_big).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_budget_wins_else_the_declared_limit_capped_by_the_machine_and_floored() {
        let (gib, floor) = (1024 * MIB, 128 * MIB);
        let at = || Some((2 * gib, "k8s.yaml:23 spec.template.spec.containers[0].resources.limits.memory".to_string()));
        // Set in the config: it wins over the manifest.
        let explicit = choose(512 * MIB, true, at(), Some(8 * gib), floor);
        assert_eq!(explicit, Budget { bytes: 512 * MIB, source: "config".into(), declared_bytes: None, capped_by_machine: false });
        assert_eq!(choose(0, true, at(), Some(8 * gib), floor).bytes, 0, "0 in the config: no budget");
        // Derived: the declared limit, when the machine has it.
        let derived = choose(gib, false, at(), Some(8 * gib), floor);
        assert_eq!(derived, Budget { bytes: 2 * gib, source: at().unwrap().1, declared_bytes: Some(2 * gib), capped_by_machine: false });
        assert_eq!(choose(gib, false, at(), None, floor).bytes, 2 * gib, "nothing known about the machine");
        // A 64Gi pod on a 7 GiB runner: what the runner has.
        let big = Some((64 * gib, "k8s.yaml:9 x".to_string()));
        let capped = choose(gib, false, big, Some(7 * gib), floor);
        assert_eq!((capped.bytes, capped.declared_bytes, capped.capped_by_machine), (7 * gib, Some(64 * gib), true));
        // A limit past u64 bytes (`100Ei`, saturated when read): what the runner has.
        let huge = choose(gib, false, Some((u64::MAX, "k8s.yaml:9 x".to_string())), Some(7 * gib), floor);
        assert_eq!((huge.bytes, huge.capped_by_machine), (7 * gib, true));
        // A tiny limit: never under the floor.
        let tiny = choose(gib, false, Some((64 * MIB, "k8s.yaml:9 x".to_string())), Some(8 * gib), floor);
        assert_eq!((tiny.bytes, tiny.capped_by_machine), (floor, false));
        // No manifest limit: the default.
        assert_eq!(
            choose(gib, false, None, Some(8 * gib), floor),
            Budget { bytes: gib, source: "default".into(), declared_bytes: None, capped_by_machine: false }
        );
    }

    #[test]
    fn the_probe_limit_binds_only_when_it_is_below_what_the_budget_leaves() {
        let gib = 1024 * MIB;
        assert_eq!(child_limit(gib, 8 * gib, 100 * MIB, 0), ChildLimit { bytes: gib - 148 * MIB, bound: Bound::Budget });
        assert_eq!(child_limit(2 * gib, gib, 100 * MIB, 0), ChildLimit { bytes: gib, bound: Bound::ProbeLimit });
        assert_eq!(child_limit(0, gib, 100 * MIB, 0), ChildLimit { bytes: gib, bound: Bound::ProbeLimit });
        assert_eq!(child_limit(0, 0, 100 * MIB, 0), ChildLimit { bytes: 0, bound: Bound::Unlimited });
        // A model too big for the budget still gets what loading it needs.
        assert_eq!(child_limit(gib, 8 * gib, 900 * MIB, 500 * MIB), ChildLimit { bytes: 500 * MIB, bound: Bound::Budget });
    }

    #[test]
    fn the_start_size_lies_on_the_halving_chain_and_fits_twice_over() {
        // 2 MiB a row, 700 MiB left: 175 rows fit with the margin; the chain from 4096 gives 128.
        assert_eq!(start_rows(4096, usize::MAX, 2 * MIB, 700 * MIB), 128);
        assert_eq!(start_rows(4096, usize::MAX, 1, 700 * MIB), 4096);
        assert_eq!(start_rows(1456, usize::MAX, 100 * MIB, 300 * MIB), 2);
        assert_eq!(start_rows(1, usize::MAX, 100 * MIB, 0), 1);
        // A request cap below what the estimate allows: still on the chain from 4096.
        assert_eq!(start_rows(4096, 100, 1, 700 * MIB), 64);
        assert_eq!(start_rows(4096, 2, 1, 0), 2);
    }

    #[test]
    fn a_row_costs_what_each_added_row_made_the_child_hold_but_never_less_than_its_inputs_twice() {
        assert_eq!(per_row_bytes(6 * MIB, 4, 1000), 2 * MIB);
        assert_eq!(per_row_bytes(0, 4, 1000), 2000);
        assert_eq!(per_row_bytes(3 * MIB, 2, 1000), 3 * MIB);
    }

    #[test]
    fn a_child_gets_what_loading_the_model_took() {
        assert_eq!(load_floor(100 * MIB, Some(200 * MIB)), 396 * MIB);
        // A 4 KiB file whose weights are built at load time: ready's own peak says what it takes.
        assert_eq!(load_floor(4096, Some(664 * MIB)), 792 * MIB);
        assert_eq!(load_floor(0, None), 128 * MIB);
    }

    #[test]
    fn a_request_must_fit_four_times_in_what_is_free() {
        // alexnet's [1, 3, 224, 224] float row at 8 bytes a value (1.2 MB), 230 MiB free: 50 rows.
        assert_eq!(input_rows_cap(230 * MIB, 3 * 224 * 224 * 8), 50);
        assert_eq!(input_rows_cap(0, 1000), 2);
    }

    #[test]
    fn measuring_doubles_until_the_growth_is_clear_or_the_next_batch_is_too_big() {
        // A tiny row: the growth stays in the noise, so it measures up to 64 rows.
        assert_eq!(next_measure_rows(2, 100 << 10, 2000, 4096, 900 * MIB), Some(4));
        assert_eq!(next_measure_rows(64, 100 << 10, 2000, 4096, 900 * MIB), None);
        // A clear growth ends it.
        assert_eq!(next_measure_rows(4, 20 * MIB, 5 * MIB, 4096, 900 * MIB), None);
        // 100 MiB a row: 4 rows could take more than a quarter of 900 MiB.
        assert_eq!(next_measure_rows(2, 10 * MIB, 100 * MIB, 41, 900 * MIB), None);
        // Never past half of what the probe wants.
        assert_eq!(next_measure_rows(2, 0, 2000, 6, 900 * MIB), None);
    }
}
