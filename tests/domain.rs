//! The domain check through the real binary: a skl2onnx ColumnTransformer (OneHotEncoder with
//! handle_unknown='ignore', StandardScaler, RandomForest) and the XGBoost export, against
//! samples written by pandas (fixtures/domain/generate.py).

mod common;

use common::{Audit, audit};

const ADULT: &str = "fixtures/domain/adult.onnx";

fn domain(model: &str, sample: &str) -> Audit {
    audit(model, &["--sample", sample, "--only", "schema_parity,domain"])
}

fn findings(run: &Audit) -> Vec<String> {
    run.details("domain").into_iter().filter(|d| !d.starts_with("graph: ")).collect()
}

#[test]
fn training_like_samples_pass_from_every_exporter_and_format() {
    for (model, sample) in [
        (ADULT, "fixtures/domain/ok.csv"),
        (ADULT, "fixtures/domain/reference.parquet"),
        (ADULT, "fixtures/domain/shifted.parquet"),
        ("fixtures/models/sk_columns.onnx", "fixtures/samples/customers.csv"),
        ("fixtures/models/sk_columns.onnx", "fixtures/samples/customers_category.parquet"),
        ("fixtures/models/sk_columns.onnx", "fixtures/samples/customers.ndjson"),
        ("fixtures/models/iris_rf.onnx", "fixtures/samples/iris.csv"),
        ("fixtures/models/mixed_types.onnx", "fixtures/samples/mixed.csv"),
        ("fixtures/models/sk_epoch.onnx", "fixtures/samples/epoch.csv"),
        ("fixtures/models/lgbm.onnx", "fixtures/samples/tabular.csv"),
        ("fixtures/models/xgb.onnx", "fixtures/samples/tabular.csv"),
        ("fixtures/models/catboost.onnx", "fixtures/samples/tabular.parquet"),
    ] {
        let run = domain(model, sample);
        assert_eq!(run.status("domain"), "pass", "{model} {sample}: {}", run.check("domain"));
        assert_eq!(findings(&run), Vec::<String>::new(), "{model} {sample}");
    }
    let run = domain(ADULT, "fixtures/domain/ok.csv");
    assert_eq!(run.check("domain")["summary"], "4 column(s) of 500 row(s) checked against the graph's domain (1 categorical)");
}

#[test]
fn an_unseen_category_fails_naming_column_value_rows_known_categories_and_the_closest() {
    let run = domain(ADULT, "fixtures/domain/unseen.csv");
    assert_eq!(run.status("schema_parity"), "pass");
    assert_eq!(run.status("domain"), "fail");
    assert_eq!(run.code, 1);
    let known = "known: 'Federal-gov', 'Local-gov', 'Private', 'Self-emp-inc', 'Self-emp-not-inc'; \
                 the OneHotEncoder makes it all zeros, as if the column were absent";
    assert_eq!(
        findings(&run),
        [
            format!(
                "fail: column 'workclass': 'Self-emp' is not a category the OneHotEncoder knows (closest known: 'Self-emp-inc'): rows 3, 11 (2 of 40 rows); {known}"
            ),
            format!(
                "fail: column 'workclass': 'private' is not a category the OneHotEncoder knows (closest known: 'Private'): row 7 (1 of 40 rows); {known}"
            ),
            format!("fail: column 'workclass': 'Never-worked' is not a category the OneHotEncoder knows: row 20 (1 of 40 rows); {known}"),
        ]
    );
    assert!(run.check("domain")["summary"].as_str().unwrap().starts_with("3 problems: column 'workclass': 'Self-emp' is not a category"));
}

#[test]
fn a_units_mistake_warns_with_the_ratio_and_the_trees_cannot_tell_the_values_apart() {
    let run = domain(ADULT, "fixtures/domain/units.csv");
    assert_eq!(run.status("domain"), "warn");
    let found = findings(&run);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with(
            "warn: column 'income': 40 of 40 values lie more than 10 units of 29693.1 from the Scaler's centre 55409.4 (a StandardScaler's \
             training mean and std, or a RobustScaler's median and IQR: the graph does not say which): \
             rows 0, 1, 2, 3, 4, 5, 6, 7 and 32 more (farthest: row 3 value 164902600,"
        ),
        "{}",
        found[0]
    );
    assert!(found[0].ends_with("units); their median 51278360 is 925.445× the Scaler's centre: other units?"), "{}", found[0]);
    assert!(
        found[1].starts_with(
            "warn: column 'income': 40 of 40 values (100%) lie above every tree split on it (largest 213620), from 20898650 to 164902600"
        ),
        "{}",
        found[1]
    );

    // The XGBoost export (onnxmltools, one [N,3] tensor) has no Scaler: only its splits speak.
    let run = domain("fixtures/models/xgb.onnx", "fixtures/domain/tabular_units.csv");
    assert_eq!(run.status("domain"), "warn");
    assert_eq!(
        findings(&run),
        ["warn: column 'income': 60 of 60 values (100%) lie above every tree split on it (largest 69178.3), from 22113700 to 82006250: \
          the model cannot tell these apart (rows 0, 1, 2, 3, 4, 5, 6, 7 and 52 more)"]
    );
}

#[test]
fn swapped_columns_matched_by_position_land_beyond_every_split() {
    // tabular_reversed.csv feeds score where the LightGBM model expects age: schema_parity can
    // only warn (no feature names), the splits show it.
    let run = domain("fixtures/models/lgbm.onnx", "fixtures/samples/tabular_reversed.csv");
    assert_eq!(run.status("schema_parity"), "warn");
    assert_eq!(run.status("domain"), "warn");
    assert_eq!(
        findings(&run),
        [
            "warn: column 'score': 60 of 60 values (100%) lie below every tree split on it (smallest 45.5), from 1 to 8.8: \
             the model cannot tell these apart (rows 0, 1, 2, 3, 4, 5, 6, 7 and 52 more)",
            "warn: column 'age': 60 of 60 values (100%) lie above every tree split on it (largest 5.15), from 17 to 79: \
             the model cannot tell these apart (rows 0, 1, 2, 3, 4, 5, 6, 7 and 52 more)",
        ]
    );
}

#[test]
fn without_a_sample_it_skips_and_still_lists_the_graphs_domain() {
    let run = audit(ADULT, &["--only", "domain"]);
    assert_eq!(run.status("domain"), "skip");
    assert_eq!(run.check("domain")["summary"], "no --sample given; the graph's domain of 4 column(s) is in the details");
    assert_eq!(
        run.details("domain"),
        [
            "graph: input 'age': Scaler offset 40.028 scale 1/12.6354 (a StandardScaler's training mean and std, or a RobustScaler's median and IQR: the graph does not say which); 48 tree split(s) between 18.5 and 74.5",
            "graph: input 'hours': Scaler offset 39.92 scale 1/11.9952 (a StandardScaler's training mean and std, or a RobustScaler's median and IQR: the graph does not say which); 43 tree split(s) between 18 and 68.5",
            "graph: input 'income': Scaler offset 55409.4 scale 1/29693.1 (a StandardScaler's training mean and std, or a RobustScaler's median and IQR: the graph does not say which); 54 tree split(s) between 32040.3 and 213620",
            "graph: input 'workclass': OneHotEncoder knows 5 categories: 'Federal-gov', 'Local-gov', 'Private', 'Self-emp-inc', 'Self-emp-not-inc'",
        ]
    );
    // A graph with no column domain says where the path went.
    let run = audit("fixtures/models/batch_dependent.onnx", &["--only", "domain"]);
    assert_eq!(run.status("domain"), "skip");
    assert_eq!(run.details("domain"), ["graph: input 'x' also goes through ReduceMean, Sub (not followed: what lies behind is not read)"]);
}

const CENTRED: &str = "a StandardScaler's training mean and std, or a RobustScaler's median and IQR: the graph does not say which";

/// The graph's facts (no sample).
fn graph_facts(model: &str) -> Vec<String> {
    let run = audit(model, &["--only", "domain"]);
    assert_eq!(run.status("domain"), "skip", "{model}");
    run.details("domain")
}

#[test]
fn the_ai_onnx_ml_5_tree_ensemble_gives_the_thresholds_of_the_classic_regressor() {
    // adult_tree5.onnx is adult_reg.onnx (skl2onnx, TreeEnsembleRegressor) rewritten as the
    // ai.onnx.ml 5 TreeEnsemble (nodes_splits/nodes_modes tensors, leaf_* apart), with the same
    // ONNX Runtime predictions (fixtures/domain/generate.py).
    let expected = [
        format!("graph: input 'age': Scaler offset 40.028 scale 1/12.6354 ({CENTRED}); 32 tree split(s) between 38.5 and 47"),
        format!("graph: input 'hours': Scaler offset 39.92 scale 1/11.9952 ({CENTRED}); 16 tree split(s) between 45.5 and 45.5"),
        format!("graph: input 'income': Scaler offset 55409.4 scale 1/29693.1 ({CENTRED}); 36 tree split(s) between 58359.6 and 62101"),
        "graph: input 'workclass': OneHotEncoder knows 5 categories: 'Federal-gov', 'Local-gov', 'Private', 'Self-emp-inc', 'Self-emp-not-inc'"
            .to_string(),
    ];
    assert_eq!(graph_facts("fixtures/domain/adult_reg.onnx"), expected);
    assert_eq!(graph_facts("fixtures/domain/adult_tree5.onnx"), expected);
    for model in ["fixtures/domain/adult_reg.onnx", "fixtures/domain/adult_tree5.onnx"] {
        let run = domain(model, "fixtures/domain/ok.csv");
        assert_eq!([run.status("schema_parity"), run.status("domain")], ["pass", "pass"], "{model}");
        let run = domain(model, "fixtures/domain/units.csv");
        assert_eq!(run.status("domain"), "warn", "{model}");
        let found = findings(&run);
        assert_eq!(found.len(), 2, "{model}: {found:?}");
        assert_eq!(
            found[1],
            "warn: column 'income': 40 of 40 values (100%) lie above every tree split on it (largest 62101), from 20898650 to 164902600: \
             the model cannot tell these apart (rows 0, 1, 2, 3, 4, 5, 6, 7 and 32 more)",
            "{model}"
        );
    }
}

#[test]
fn robust_maxabs_and_minmax_scalers_are_worded_for_what_the_graph_can_tell() {
    // skl2onnx: RobustScaler -> Scaler(median, 1/IQR); MaxAbsScaler -> Scaler(0, 1/max|x|);
    // MinMaxScaler -> Cast, Mul(scale_), Add(min_). Training: age median 40 IQR 18, hours max 85,
    // income range [9661.47, 350070] (the reference's min and max).
    assert_eq!(
        graph_facts("fixtures/domain/adult_scalers.onnx"),
        [
            format!("graph: input 'age': Scaler offset 40 scale 1/18 ({CENTRED}); 33 tree split(s) between 38.5 and 47"),
            "graph: input 'hours': Scaler offset 0 scale 1/85 (no centring: 1/scale is a MaxAbsScaler's largest training |value|, or a \
             StandardScaler's std: the graph does not say which); 16 tree split(s) between 45.5 and 45.5"
                .to_string(),
            "graph: input 'income': Mul/Add maps [9661.47, 350070] onto [0, 1] (skl2onnx's MinMaxScaler export: its training range if \
             feature_range was (0, 1)); 35 tree split(s) between 58359.6 and 62101"
                .to_string(),
            "graph: input 'workclass': OneHotEncoder knows 5 categories: 'Federal-gov', 'Local-gov', 'Private', 'Self-emp-inc', 'Self-emp-not-inc'"
                .to_string(),
        ]
    );
    for sample in ["fixtures/domain/ok.csv", "fixtures/domain/shifted.parquet", "fixtures/domain/reference.parquet"] {
        let run = domain("fixtures/domain/adult_scalers.onnx", sample);
        assert_eq!(run.status("domain"), "pass", "{sample}: {}", run.check("domain"));
    }
    let run = domain("fixtures/domain/adult_scalers.onnx", "fixtures/domain/units.csv");
    assert_eq!(run.status("domain"), "warn");
    assert_eq!(
        findings(&run),
        [
            "warn: column 'income': 40 of 40 values lie outside [9661.47, 350070] by more than 10 times its width, the range the Mul/Add \
             maps onto [0, 1] (skl2onnx's MinMaxScaler export: its training range if feature_range was (0, 1)): rows 0, 1, 2, 3, 4, 5, 6, 7 \
             and 32 more (farthest: row 3 value 164902600, 483.397 widths above its max); their median 51278360 is 146.48× the max: other units?",
            "warn: column 'income': 40 of 40 values (100%) lie above every tree split on it (largest 62101), from 20898650 to 164902600: \
             the model cannot tell these apart (rows 0, 1, 2, 3, 4, 5, 6, 7 and 32 more)",
        ]
    );
}
