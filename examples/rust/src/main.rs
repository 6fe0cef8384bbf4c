//! halfcast from Rust: convert a model to float16, then find a mixed-precision version whose
//! output a validate closure accepts. Usage: halfcast-example MODEL.onnx OUT_DIR
//! The model is the PaddleOCR text-direction classifier (input x: [1, 3, 48, 192]).
use std::path::Path;
use std::process::ExitCode;

use halfcast::{ConvertOptions, Feeds, MixedPrecisionOptions, Model, NamedTensors, Tensor};

fn run(model_path: &str, out_dir: &str) -> halfcast::Result<u32> {
    let model = Model::load(model_path)?;
    let mut options = ConvertOptions::new()?;
    options.keep_io_types(true)?;
    let fp16 = model.convert(&options)?;
    let path = Path::new(out_dir).join("model.fp16.onnx");
    fp16.model.save(&path)?;
    println!(
        "float16: {} nodes converted, saved to {}",
        fp16.report.nodes_converted(),
        path.display()
    );

    let x: Vec<f32> = (0..3 * 48 * 192).map(|i| (0.001 * i as f64).sin() as f32).collect();
    let mut inputs = NamedTensors::new()?;
    inputs.insert("x", &Tensor::from_slice(&[1, 3, 48, 192], &x)?)?;
    let mut calls = 0u32;
    let mut options = MixedPrecisionOptions::new()?;
    // Accept when every output is within 0.01 of float32's.
    options.keep_io_types(true)?.on_validate(|reference, candidate| {
        calls += 1;
        reference.iter().all(|(name, want)| match (want.to_f32(), candidate.get(&name)) {
            (Some(want), Some(got)) => got.to_f32().map_or(false, |got| {
                got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| (g - w).abs() <= 0.01)
            }),
            _ => false,
        })
    })?;
    let mixed = model.auto_mixed_precision(&Feeds::single(&inputs)?, &options)?;
    drop(options); // releases the closure's borrow of `calls`
    println!(
        "mixed precision: {} nodes kept in float32, {} evaluations, {calls} validate calls",
        mixed.report.nodes_kept(),
        mixed.report.evaluations()
    );
    Ok(calls)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: {} MODEL.onnx OUT_DIR", args[0]);
        return ExitCode::from(2);
    }
    // The crate checks the library's ABI version on first use: a mismatch is an Err here.
    match run(&args[1], &args[2]) {
        Ok(calls) if calls > 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("halfcast: {error}");
            ExitCode::FAILURE
        }
    }
}
