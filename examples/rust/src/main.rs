//! halfcast from Rust: convert a model to float16, then find a mixed-precision version whose
//! output a validate closure accepts. Usage: halfcast-example MODEL.onnx OUT_DIR
//! The model is the PaddleOCR text-direction classifier (input x: [1, 3, 48, 192]).
mod halfcast;

use std::process::ExitCode;

fn run(model_path: &str, out_dir: &str) -> Result<u32, halfcast::Error> {
    let model = halfcast::Model::load(model_path)?;
    let (fp16, report) = model.to_float16(true)?;
    let path = format!("{out_dir}/model.fp16.onnx");
    fp16.save(&path)?;
    println!("float16: {} nodes converted, saved to {path}", report.nodes_converted());

    let dims = [1i64, 3, 48, 192];
    let x: Vec<f32> = (0..3 * 48 * 192).map(|i| (0.001 * i as f64).sin() as f32).collect();
    let feeds = halfcast::Feeds::single(&[("x", &dims, &x)])?;
    let mut calls = 0u32;
    let (_mixed, report) = halfcast::auto_mixed_precision(&model, &feeds, true, |want, got| {
        calls += 1;
        // Accept when every output is within 0.01 of float32's.
        want.iter().all(|(name, reference)| match got.get(&name) {
            Some(candidate) => {
                candidate.len() == reference.len()
                    && candidate.iter().zip(&reference).all(|(c, r)| (c - r).abs() <= 0.01)
            }
            None => false,
        })
    })?;
    println!(
        "mixed precision: {} nodes kept in float32, {} evaluations, {calls} validate calls",
        report.nodes_kept(),
        report.evaluations()
    );
    Ok(calls)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: {} MODEL.onnx OUT_DIR", args[0]);
        return ExitCode::from(2);
    }
    if halfcast::abi_version() != halfcast::ABI_VERSION {
        eprintln!("libhalfcast_c {} has ABI {}", halfcast::version(), halfcast::abi_version());
        return ExitCode::FAILURE;
    }
    match run(&args[1], &args[2]) {
        Ok(calls) if calls > 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("halfcast: {error}");
            ExitCode::FAILURE
        }
    }
}
