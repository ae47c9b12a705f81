//! Domain: the sample's values against what the graph itself says about each input column
//! (read by `model::graph_domain`): categories an encoder never saw, values many units from a
//! Scaler's centre or many range widths outside a MinMaxScaler's range (a units mistake), and
//! values beyond every tree split on a column.

use std::collections::BTreeMap;

use polars::prelude::Series;

use super::{AuditContext, Check, Outcome, Status};
use crate::config::DomainConfig;
use crate::inputs::values;
use crate::model::graph_domain::{CENTRED, ColumnDomain, GraphDomain, MINMAX, UNCENTRED, short};
use crate::sample::{Sample, clip};

pub struct Domain;

/// Most rows named in one finding.
const ROWS_SHOWN: usize = 8;
/// Most unseen values named per column.
const VALUES_SHOWN: usize = 5;
/// Most lines of graph facts in the details.
const FACTS_SHOWN: usize = 40;

/// One statement about a column.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub status: Status,
    pub text: String,
}

/// A sample column and the model input column it feeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped<'a> {
    pub column: String,
    pub domain: &'a ColumnDomain,
}

impl Check for Domain {
    fn id(&self) -> &'static str {
        "domain"
    }

    fn description(&self) -> &'static str {
        "sample values lie in the domain the graph states: known categories, Scaler ranges, tree splits"
    }

    fn explanation(&self) -> &'static str {
        EXPLANATION
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let domain = &ctx.artifact.domain;
        let names = column_names(ctx);
        let name_of = |input: &str, index: usize| match names.get(&(input.to_string(), index)) {
            Some(column) => format!("column '{column}'"),
            None if index == 0 && !domain.columns.keys().any(|(i, k)| i == input && *k > 0) => format!("input '{input}'"),
            None => format!("input '{input}' column {index}"),
        };
        let facts = facts(domain, &name_of);
        if ctx.artifact.onnx.is_err() {
            return Outcome::skip("no ONNX graph to read (see serialization)");
        }
        if domain.columns.is_empty() {
            return Outcome::skip("the graph states no domain for its input columns (no encoder, Scaler, Imputer or tree split reads one)")
                .with_details(facts);
        }
        let Some(sample) = ctx.sample else {
            let why = if ctx.tensors.is_some() { "the sample is tensors; values are checked in table samples" } else { "no --sample given" };
            return Outcome::skip(format!("{why}; the graph's domain of {} column(s) is in the details", domain.columns.len())).with_details(facts);
        };
        let mapped: Vec<Mapped<'_>> = domain
            .columns
            .iter()
            .filter_map(|(key, c)| names.get(key).filter(|n| sample.frame.column(n).is_ok()).map(|n| Mapped { column: n.clone(), domain: c }))
            .collect();
        if mapped.is_empty() {
            return Outcome::skip("no sample column could be matched to a column the graph states a domain for (see schema_parity)")
                .with_details(facts);
        }
        let findings = judge(sample, &mapped, &ctx.config.checks.domain);
        outcome(findings, &mapped, sample.rows()).with_details(facts)
    }
}

/// What `ready explain domain` and README say.
pub const EXPLANATION: &str = "What: reads the training contract the ONNX graph itself carries, for each input column \
     (followed through Cast, Identity, Concat, column Gather/Slice and Reshape): the categories a OneHotEncoder, \
     LabelEncoder or CategoryMapper knows, a Scaler's offset and scale (skl2onnx writes a StandardScaler's \
     training mean and 1/std, a RobustScaler's median and 1/IQR, a MaxAbsScaler's 0 and 1/max|x|: the graph does \
     not say which, and the findings say so), the range a MinMaxScaler (exported as Mul and Add) maps onto [0, 1], \
     Imputer values, Normalizer settings and the range of the tree ensembles' split thresholds; where a column's path \
     goes through an operator ready does not follow, the details say so. Then it checks the sample's values: a \
     category the encoder never saw fails, naming the column, the value, its rows, the known categories and the \
     closest one ('Self-emp' for 'Self-emp-inc'); a value more than `max_std` (10) of a Scaler's units (its \
     1/scale: a std, an IQR or a largest |value|) from its centre (offset) warns, with its ratio to the centre (a \
     units mistake: millimetres for metres, cents for euros); a value outside a MinMaxScaler's range by more than \
     `max_std` times the range's width warns the same way; \
     when at least `split_share` (0.9) of the rows lie beyond every tree split on a column, on one side, it warns \
     that the model cannot tell these values apart. Without a table sample it is skipped and the graph's facts are \
     listed in the details.\n\
     Why: the contract breaks in the values as often as in the names: skl2onnx's OneHotEncoder with \
     handle_unknown='ignore' turns an unseen category into all zeros and the model answers confidently; a feature \
     sent in other units is scaled into nonsense without any error.\n\
     Fix: map the serving value to the category used in training (or retrain with it); convert the column to the \
     training units; if the new values are real, retrain on data that covers them.";

/// Sample column names of the graph's (input, column index) pairs (see `inputs::columns`); the
/// graph's per-column inputs by name when the model did not load.
fn column_names(ctx: &AuditContext<'_>) -> BTreeMap<(String, usize), String> {
    let Some(sample) = ctx.sample else {
        return BTreeMap::new();
    };
    let columns: Vec<String> = sample.columns().into_iter().map(|(name, _)| name).collect();
    match ctx.runner.as_ref() {
        Ok(runner) => {
            let metadata = ctx.artifact.onnx.as_ref().ok().and_then(|i| i.feature_names());
            crate::inputs::columns::map(&columns, runner.inputs(), ctx.config.checks.schema_parity.feature_names.clone(), metadata)
        }
        Err(_) => ctx
            .artifact
            .domain
            .columns
            .keys()
            .filter(|(input, index)| *index == 0 && columns.contains(input))
            .map(|(input, _)| ((input.clone(), 0), input.clone()))
            .collect(),
    }
}

/// Operators that split or normalise free text: a column that reaches one is text, not a category.
const TEXT_OPS: [&str; 5] = ["Tokenizer", "TfIdfVectorizer", "StringNormalizer", "StringSplit", "RegexFullMatch"];

/// The sample's columns the graph treats as free text (their input reaches a tokenizer or a
/// TF-IDF step), with that operator.
pub fn free_text_columns(ctx: &AuditContext<'_>) -> BTreeMap<String, String> {
    let unfollowed = &ctx.artifact.domain.unfollowed;
    column_names(ctx)
        .into_iter()
        .filter_map(|((input, _), name)| {
            let op = unfollowed.get(&input)?.iter().find(|op| TEXT_OPS.contains(&op.as_str()))?;
            Some((name, op.clone()))
        })
        .collect()
}

/// The sample's columns an encoder of the graph lists categories for.
pub fn encoded_columns(ctx: &AuditContext<'_>) -> std::collections::BTreeSet<String> {
    let domain = &ctx.artifact.domain;
    column_names(ctx)
        .into_iter()
        .filter(|((input, index), _)| domain.column(input, *index).is_some_and(|c| !c.categories.is_empty()))
        .map(|(_, name)| name)
        .collect()
}

/// The sample's columns that feed the model, in (input, column) order.
pub fn model_columns(ctx: &AuditContext<'_>) -> Vec<String> {
    crate::inputs::columns::used(&column_names(ctx))
}

/// The graph's facts, at most [`FACTS_SHOWN`] lines.
fn facts(domain: &GraphDomain, name_of: &dyn Fn(&str, usize) -> String) -> Vec<String> {
    let mut lines: Vec<String> = domain.describe(name_of).into_iter().map(|l| format!("graph: {l}")).collect();
    if lines.len() > FACTS_SHOWN {
        let more = lines.len() - FACTS_SHOWN;
        lines.truncate(FACTS_SHOWN);
        lines.push(format!("graph: and {more} more column(s)"));
    }
    lines
}

/// Every finding on the mapped columns.
pub fn judge(sample: &Sample, mapped: &[Mapped<'_>], config: &DomainConfig) -> Vec<Finding> {
    let mut findings = Vec::new();
    for m in mapped {
        let Ok(column) = sample.frame.column(&m.column) else { continue };
        let series = column.as_materialized_series();
        if !m.domain.categories.is_empty() {
            findings.extend(unseen(series, m));
            continue;
        }
        let Some(numbers) = values::floats(series) else { continue };
        if let Some((mean, std)) = m.domain.scaler {
            findings.extend(far_from_mean(&numbers, &m.column, mean, std, config.max_std));
        }
        if let Some(range) = m.domain.minmax {
            findings.extend(outside_minmax(&numbers, &m.column, range, config.max_std));
        }
        if let Some((lo, hi)) = m.domain.thresholds {
            findings.extend(beyond_splits(&numbers, &m.column, (lo, hi), config.split_share));
        }
    }
    findings
}

fn outcome(findings: Vec<Finding>, mapped: &[Mapped<'_>], rows: usize) -> Outcome {
    let status = findings.iter().map(|f| f.status).max().unwrap_or(Status::Pass);
    let categorical = mapped.iter().filter(|m| !m.domain.categories.is_empty()).count();
    let checked = format!("{} column(s) of {rows} row(s) checked against the graph's domain ({categorical} categorical)", mapped.len());
    let first = findings.iter().find(|f| f.status == status).map(|f| f.text.clone()).unwrap_or_default();
    let more = findings.iter().filter(|f| f.status >= Status::Warn).count();
    let headline = if more > 1 { format!("{more} problems: {first}") } else { first };
    let outcome = match status {
        Status::Fail => Outcome::fail(headline),
        Status::Warn => Outcome::warn(headline),
        _ => Outcome::pass(checked),
    };
    outcome
        .with_metric("columns_checked", mapped.len())
        .with_metric("problems", more)
        .with_details(findings.into_iter().map(|f| format!("{}: {}", f.status.name(), f.text)))
}

/// Rows as text: the first few, then how many more.
fn rows_text(rows: &[usize]) -> String {
    let shown: Vec<String> = rows.iter().take(ROWS_SHOWN).map(ToString::to_string).collect();
    let word = if rows.len() == 1 { "row" } else { "rows" };
    let more = if rows.len() > ROWS_SHOWN { format!(" and {} more", rows.len() - ROWS_SHOWN) } else { String::new() };
    format!("{word} {}{more}", shown.join(", "))
}

/// Values an encoder does not know, grouped by value in order of first appearance.
fn unseen(series: &Series, m: &Mapped<'_>) -> Vec<Finding> {
    let Some(texts) = values::texts(series) else { return Vec::new() };
    let known = &m.domain.categories;
    let known_set: std::collections::HashSet<&String> = known.iter().collect();
    let by_value = group_rows(texts.iter().enumerate().filter_map(|(row, v)| v.as_ref().filter(|v| !known_set.contains(v)).map(|v| (row, v))));
    let encoder = m.domain.encoder.as_deref().unwrap_or("encoder");
    let becomes = m.domain.unknown.as_deref().map(|u| format!("; the {encoder} makes it {u}")).unwrap_or_default();
    let shown: Vec<String> = known.iter().take(12).map(|c| format!("'{}'", clip(c, 40))).collect();
    let known_text = if known.len() > 12 { format!("{} and {} more", shown.join(", "), known.len() - 12) } else { shown.join(", ") };
    let mut findings: Vec<Finding> = by_value
        .iter()
        .take(VALUES_SHOWN)
        .map(|(value, rows)| {
            let hint = closest(value, known).map(|c| format!(" (closest known: '{}')", clip(c, 40))).unwrap_or_default();
            Finding {
                status: Status::Fail,
                text: format!(
                    "column '{}': '{}' is not a category the {encoder} knows{hint}: {} ({} of {} rows); known: {known_text}{becomes}",
                    m.column,
                    clip(value, 60),
                    rows_text(rows),
                    rows.len(),
                    texts.len()
                ),
            }
        })
        .collect();
    if by_value.len() > VALUES_SHOWN {
        let rest: usize = by_value[VALUES_SHOWN..].iter().map(|(_, r)| r.len()).sum();
        findings.push(Finding {
            status: Status::Fail,
            text: format!("column '{}': {} more unseen values in {rest} rows", m.column, by_value.len() - VALUES_SHOWN),
        });
    }
    findings
}

/// Rows grouped by value, values in order of first appearance.
pub fn group_rows<'v>(cells: impl Iterator<Item = (usize, &'v String)>) -> Vec<(String, Vec<usize>)> {
    let mut index: std::collections::HashMap<&String, usize> = std::collections::HashMap::new();
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (row, value) in cells {
        let at = *index.entry(value).or_insert_with(|| {
            groups.push((value.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(row);
    }
    groups
}

/// The known category closest to `value`: equal ignoring case and surrounding spaces, one the
/// prefix of the other, or within an edit distance of a third of the longer one.
pub fn closest<'k>(value: &str, known: &'k [String]) -> Option<&'k String> {
    let folded = value.trim().to_lowercase();
    let scored = known.iter().map(|k| {
        let other = k.trim().to_lowercase();
        let distance = if other == folded {
            0
        } else if folded.chars().count() >= 3 && (other.starts_with(&folded) || folded.starts_with(&other)) && other.chars().count() >= 3 {
            1
        } else {
            levenshtein(&folded, &other)
        };
        (distance, k)
    });
    let (distance, best) = scored.min_by_key(|(d, _)| *d)?;
    let longer = value.chars().count().max(best.chars().count());
    (distance <= 1 || distance * 3 <= longer).then_some(best)
}

/// The edit distance between two strings (insertions, deletions, substitutions), on characters.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Values more than `limit` units (1/scale) from the Scaler's centre (offset). What the unit is
/// (a std, an IQR, a largest |value|) the graph does not say, and the finding says so.
fn far_from_mean(numbers: &[Option<f64>], column: &str, mean: f64, std: f64, limit: f64) -> Option<Finding> {
    if !(std > 0.0 && std.is_finite()) {
        return None;
    }
    let far: Vec<(usize, f64)> =
        numbers.iter().enumerate().filter_map(|(row, v)| v.map(|v| (row, v))).filter(|(_, v)| ((v - mean) / std).abs() > limit).collect();
    let (row, value) = *far.iter().max_by(|a, b| (a.1 - mean).abs().total_cmp(&(b.1 - mean).abs()))?;
    let rows: Vec<usize> = far.iter().map(|(r, _)| *r).collect();
    let present = numbers.iter().flatten().count();
    let mut typical: Vec<f64> = far.iter().map(|(_, v)| *v).collect();
    typical.sort_by(f64::total_cmp);
    let median = typical[typical.len() / 2];
    let (reference, name) = if mean != 0.0 { (mean, "centre") } else { (std, "unit") };
    let ratio = format!("; their median {} is {}× the Scaler's {name}: other units?", short(median), short(median / reference));
    let what = if mean != 0.0 {
        format!("more than {} units of {} from the Scaler's centre {} ({CENTRED})", short(limit), short(std), short(mean))
    } else {
        format!("beyond ±{} × {}, the Scaler's unit (it does not centre; {UNCENTRED})", short(limit), short(std))
    };
    Some(Finding {
        status: Status::Warn,
        text: format!(
            "column '{column}': {} of {present} values lie {what}: {} (farthest: row {row} value {}, {} units){ratio}",
            rows.len(),
            rows_text(&rows),
            short(value),
            short(((value - mean) / std).abs()),
        ),
    })
}

/// Values outside the range a MinMaxScaler maps onto [0, 1] by more than `limit` times its width.
fn outside_minmax(numbers: &[Option<f64>], column: &str, (lo, hi): (f64, f64), limit: f64) -> Option<Finding> {
    let width = hi - lo;
    if !(width > 0.0 && width.is_finite()) {
        return None;
    }
    let beyond = |v: f64| {
        if v > hi {
            (v - hi) / width
        } else if v < lo {
            (lo - v) / width
        } else {
            0.0
        }
    };
    let far: Vec<(usize, f64)> = numbers.iter().enumerate().filter_map(|(row, v)| v.map(|v| (row, v))).filter(|(_, v)| beyond(*v) > limit).collect();
    let (row, value) = *far.iter().max_by(|a, b| beyond(a.1).total_cmp(&beyond(b.1)))?;
    let rows: Vec<usize> = far.iter().map(|(r, _)| *r).collect();
    let present = numbers.iter().flatten().count();
    let mut typical: Vec<f64> = far.iter().map(|(_, v)| *v).collect();
    typical.sort_by(f64::total_cmp);
    let median = typical[typical.len() / 2];
    let side = if value > hi { "above its max" } else { "below its min" };
    let (bound, word) = if median > hi { (hi, "max") } else { (lo, "min") };
    let ratio = if bound != 0.0 {
        format!("; their median {} is {}× the {word}: other units?", short(median), short(median / bound))
    } else {
        String::new()
    };
    Some(Finding {
        status: Status::Warn,
        text: format!(
            "column '{column}': {} of {present} values lie outside [{}, {}] by more than {} times its width, the range the Mul/Add maps onto [0, 1] ({MINMAX}): {} (farthest: row {row} value {}, {} widths {side}){ratio}",
            rows.len(),
            short(lo),
            short(hi),
            short(limit),
            rows_text(&rows),
            short(value),
            short(beyond(value)),
        ),
    })
}

/// A column whose values (at least `share` of them, on one side) lie beyond every tree split.
fn beyond_splits(numbers: &[Option<f64>], column: &str, (lo, hi): (f64, f64), share: f64) -> Option<Finding> {
    let present: Vec<(usize, f64)> = numbers.iter().enumerate().filter_map(|(row, v)| v.map(|v| (row, v))).collect();
    if present.is_empty() {
        return None;
    }
    let sides = [
        ("above", "largest", hi, present.iter().filter(|(_, v)| *v > hi).copied().collect::<Vec<_>>()),
        ("below", "smallest", lo, present.iter().filter(|(_, v)| *v < lo).copied().collect()),
    ];
    for (side, which, threshold, beyond) in sides {
        let mut distinct: Vec<f64> = beyond.iter().map(|(_, v)| *v).collect();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() >= 2 && beyond.len() as f64 >= share * present.len() as f64 {
            let rows: Vec<usize> = beyond.iter().map(|(r, _)| *r).collect();
            return Some(Finding {
                status: Status::Warn,
                text: format!(
                    "column '{column}': {} of {} values ({:.0}%) lie {side} every tree split on it ({which} {}), from {} to {}: the model cannot tell these apart ({})",
                    beyond.len(),
                    present.len(),
                    100.0 * beyond.len() as f64 / present.len() as f64,
                    short(threshold),
                    short(distinct[0]),
                    short(distinct[distinct.len() - 1]),
                    rows_text(&rows)
                ),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_category_by_prefix_case_and_edits() {
        let known: Vec<String> = ["Private", "Self-emp-inc", "Self-emp-not-inc", "Lyon"].iter().map(|s| s.to_string()).collect();
        assert_eq!(closest("Self-emp", &known).map(String::as_str), Some("Self-emp-inc"));
        assert_eq!(closest("lyon ", &known).map(String::as_str), Some("Lyon"));
        assert_eq!(closest("Privat", &known).map(String::as_str), Some("Private"));
        assert_eq!(closest("Paris", &known), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
    }

    #[test]
    fn far_values_name_rows_and_the_ratio() {
        let numbers = vec![Some(50.0), Some(50_000.0), None, Some(48_000.0)];
        let finding = far_from_mean(&numbers, "age", 50.0, 18.0, 10.0).unwrap();
        assert_eq!(
            finding.text,
            "column 'age': 2 of 3 values lie more than 10 units of 18 from the Scaler's centre 50 (a StandardScaler's training \
             mean and std, or a RobustScaler's median and IQR: the graph does not say which): rows 1, 3 \
             (farthest: row 1 value 50000, 2775 units); their median 50000 is 1000× the Scaler's centre: other units?"
        );
        assert_eq!(far_from_mean(&[Some(90.0)], "age", 50.0, 18.0, 10.0), None);
        // No centre (a MaxAbsScaler): the unit is the yardstick.
        let finding = far_from_mean(&[Some(80.0), Some(-9000.0)], "hours", 0.0, 99.0, 10.0).unwrap();
        assert_eq!(
            finding.text,
            "column 'hours': 1 of 2 values lie beyond ±10 × 99, the Scaler's unit (it does not centre; 1/scale is a \
             MaxAbsScaler's largest training |value|, or a StandardScaler's std: the graph does not say which): row 1 \
             (farthest: row 1 value -9000, 90.9091 units); their median -9000 is -90.9091× the Scaler's unit: other units?"
        );
    }

    #[test]
    fn values_far_outside_a_minmax_range_warn_in_range_widths() {
        // Range [10, 20]: 250 is 23 widths above the max, 15 and 25 are not judged here.
        let numbers = vec![Some(15.0), Some(25.0), Some(250.0), None, Some(-500.0)];
        let finding = outside_minmax(&numbers, "income", (10.0, 20.0), 10.0).unwrap();
        assert_eq!(
            finding.text,
            "column 'income': 2 of 4 values lie outside [10, 20] by more than 10 times its width, the range the Mul/Add \
             maps onto [0, 1] (skl2onnx's MinMaxScaler export: its training range if feature_range was (0, 1)): rows 2, 4 \
             (farthest: row 4 value -500, 51 widths below its min); their median 250 is 12.5× the max: other units?"
        );
        assert_eq!(outside_minmax(&[Some(25.0)], "income", (10.0, 20.0), 10.0), None);
        assert_eq!(outside_minmax(&[Some(25.0)], "income", (10.0, 10.0), 10.0), None);
    }

    #[test]
    fn a_column_beyond_every_split_warns_only_past_the_share() {
        let numbers: Vec<Option<f64>> = vec![Some(100.0), Some(200.0), Some(300.0), Some(5.0)];
        let finding = beyond_splits(&numbers, "age", (18.0, 76.5), 0.75).unwrap();
        assert_eq!(
            finding.text,
            "column 'age': 3 of 4 values (75%) lie above every tree split on it (largest 76.5), from 100 to 300: \
             the model cannot tell these apart (rows 0, 1, 2)"
        );
        assert_eq!(beyond_splits(&numbers, "age", (18.0, 76.5), 0.9), None);
        // One distinct value beyond the splits: nothing to tell apart.
        assert_eq!(beyond_splits(&[Some(100.0), Some(100.0)], "age", (18.0, 76.5), 0.5), None);
    }
}
