//! The baseline for ready's latency harness: the smallest loop a user would write with `ort`.
//! Loads the model, feeds one zero-filled float32 row, warms up, and prints the p50 of N runs
//! in microseconds. Used by scripts/bench.sh.
//!
//!     cargo run --release --example raw_ort_loop -- LIBONNXRUNTIME MODEL.onnx FEATURES RUNS

use std::time::Instant;

use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, lib, model, features, runs] = args.as_slice() else {
        return Err("usage: raw_ort_loop LIBONNXRUNTIME MODEL.onnx FEATURES RUNS".into());
    };
    let (features, runs): (usize, usize) = (features.parse()?, runs.parse()?);
    let environment = ort::init_from(lib)?.build()?;
    let mut session = ort::session::Session::builder(&environment)?
        .with_optimization_level(GraphOptimizationLevel::All)?
        .with_intra_threads(1)?
        .with_inter_threads(1)?
        .commit_from_file(model)?;
    let input = Tensor::from_array(ndarray::Array2::<f32>::zeros((1, features)))?;
    for _ in 0..20 {
        session.run(ort::inputs![&input])?;
    }
    let mut micros = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let outputs = session.run(ort::inputs![&input])?;
        micros.push(started.elapsed().as_secs_f64() * 1e6);
        drop(outputs);
    }
    micros.sort_by(f64::total_cmp);
    println!("{{\"p50_us\": {}, \"runs\": {runs}}}", micros[runs / 2]);
    Ok(())
}
