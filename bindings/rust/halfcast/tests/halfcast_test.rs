//! The crate against the built libhalfcast_c: conversions of tests/data models, mixed precision
//! judged by Rust closures, errors and panics.
use std::ops::ControlFlow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;

use halfcast::{
    Code, ConvertOptions, ElementType, Feeds, LogLevel, MixedPrecisionOptions, Model, NamedTensors,
    OptionKey, SegmentState, Strategy, Tensor,
};

fn model_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../tests/data/models").join(name)
}

const CLASSIFIER: &str = "ch_ppocr_mobile_v2.0_cls_infer.onnx";

fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// One run of the classifier (input x: [1, 3, 48, 192]).
fn classifier_feeds() -> Feeds {
    let x: Vec<f32> = (0..3 * 48 * 192).map(|i| (0.001 * i as f64).sin() as f32).collect();
    let mut inputs = NamedTensors::new().unwrap();
    inputs.insert("x", &Tensor::from_slice(&[1, 3, 48, 192], &x).unwrap()).unwrap();
    Feeds::single(&inputs).unwrap()
}

#[test]
fn converts_a_model_reporting_through_the_log_closure() {
    let model = Model::load(model_path("silero_vad.onnx")).unwrap();
    let mut messages = Vec::new();
    let mut options = ConvertOptions::new().unwrap();
    options
        .keep_io_types(true)
        .unwrap()
        .on_log(|level, text| messages.push((level, text.to_string())))
        .unwrap();
    let converted = model.convert(&options).unwrap();
    drop(options);
    assert!(converted.report.nodes_converted() > 0);
    assert!(messages.iter().any(|(level, text)| *level == LogLevel::Info && !text.is_empty()));

    // The result is a model: it serializes, parses back and saves; it is float16 inside, so
    // converting it again is refused by the fp16-ready check.
    let bytes = converted.model.to_bytes().unwrap();
    let reloaded = Model::from_bytes(&bytes).unwrap();
    let path = scratch("silero_vad.fp16.onnx");
    reloaded.save(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let again = reloaded.to_float16().err().expect("a float16 model is refused");
    assert_eq!(again.code(), Code::FailedPrecondition);
    let json = converted.report.to_json().unwrap();
    assert!(json.starts_with('{') && json.contains("nodes_converted"), "{json}");
}

#[test]
fn block_lists_keep_nodes_in_float32_and_the_report_says_why() {
    let model = Model::load(model_path(CLASSIFIER)).unwrap();
    let mut options = ConvertOptions::new().unwrap();
    options.set_strings(OptionKey::OpBlockList, ["Conv"]).unwrap();
    let converted = model.convert(&options).unwrap();
    let kept = converted.report.kept_nodes().unwrap();
    assert_eq!(kept.len() as i64, converted.report.nodes_kept());
    assert!(kept.iter().any(|node| node.op_type == "Conv" && node.reason == "op_block_list"));
    assert!(kept.iter().all(|node| node.op_type == "Conv" || node.reason != "op_block_list"));
}

#[test]
fn mixed_precision_is_judged_by_a_rust_closure() {
    let model = Model::load(model_path(CLASSIFIER)).unwrap();
    let feeds = classifier_feeds();
    let (mut validations, mut attempts, mut saw_good) = (0, 0, false);
    let mut options = MixedPrecisionOptions::new().unwrap();
    options
        .keep_io_types(true)
        .unwrap()
        .on_validate(|reference, candidate| {
            validations += 1;
            assert!(!reference.is_empty());
            reference.iter().all(|(name, want)| {
                let got = candidate.get(&name).expect("the candidate has every output");
                assert_eq!(got.element_type(), ElementType::Float, "keep_io_types");
                assert_eq!(got.dims(), want.dims());
                let (want, got) = (want.as_slice::<f32>().unwrap(), got.as_slice::<f32>().unwrap());
                want.iter().zip(got).all(|(w, g)| (w - g).abs() <= 0.01)
            })
        })
        .unwrap()
        .on_progress(|progress| {
            attempts += 1;
            saw_good |= progress.segments().iter().any(|s| s.state == SegmentState::Good);
            assert!(!progress.text().is_empty());
            ControlFlow::Continue(())
        })
        .unwrap();
    let mixed = model.auto_mixed_precision(&feeds, &options).unwrap();
    drop(options);
    assert!(validations >= 2, "the float32 model and at least one candidate: {validations}");
    assert!(attempts >= 1 && saw_good);
    assert!(mixed.report.evaluations() >= 2);
    assert!(mixed.report.nodes_converted() > 0);
    Model::from_bytes(&mixed.model.to_bytes().unwrap()).unwrap();
}

#[test]
fn errors_carry_the_library_code_and_message() {
    let missing = Model::load(model_path("no_such_model.onnx")).err().unwrap();
    assert_eq!(missing.code(), Code::NotFound);
    assert!(missing.message().contains("no_such_model.onnx"), "{missing}");

    let not_a_model = Model::from_bytes(b"not an onnx model").err().unwrap();
    assert_eq!(not_a_model.code(), Code::InvalidArgument);

    let short = Tensor::from_slice(&[2, 3], &[1.0f32; 5]).err().unwrap();
    assert_eq!(short.code(), Code::InvalidArgument);

    let mut options = ConvertOptions::new().unwrap();
    let wrong_kind = options.set_int(OptionKey::KeepIoTypes, 1).err().unwrap();
    assert_eq!(wrong_kind.code(), Code::InvalidArgument);
    assert!(options.set_strings(OptionKey::OpBlockList, ["a\0b"]).is_err());

    // No tolerance and no validate closure.
    let model = Model::load(model_path(CLASSIFIER)).unwrap();
    let error = model
        .auto_mixed_precision(&classifier_feeds(), &MixedPrecisionOptions::new().unwrap())
        .err()
        .unwrap();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(error.to_string().contains("invalid_argument"));
}

#[test]
fn a_panicking_closure_stops_the_search_and_is_resumed_in_rust() {
    let model = Model::load(model_path(CLASSIFIER)).unwrap();
    let feeds = classifier_feeds();
    let mut options = MixedPrecisionOptions::new().unwrap();
    options.on_validate(|_, _| panic!("validator gave up")).unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| model.auto_mixed_precision(&feeds, &options)))
        .err()
        .expect("the panic comes back");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"validator gave up"));

    // The options work again afterwards; a Break from the progress closure cancels.
    let mut options = MixedPrecisionOptions::new().unwrap();
    options.rtol(0.1).unwrap().atol(0.1).unwrap().strategy(Strategy::Bisect).unwrap();
    options.on_progress(|_| ControlFlow::Break(())).unwrap();
    let error = model.auto_mixed_precision(&feeds, &options).err().unwrap();
    assert_eq!(error.code(), Code::Cancelled);
}

#[test]
fn threads_share_a_model_and_convert_it_at_once() {
    let model = Arc::new(Model::load(model_path("silero_vad.onnx")).unwrap());
    let counts: Vec<i64> = (0..2)
        .map(|_| {
            let model = Arc::clone(&model);
            std::thread::spawn(move || model.to_float16().unwrap().report.nodes_converted())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect();
    assert!(counts[0] > 0 && counts[0] == counts[1]);
}

#[test]
fn the_loaded_library_matches_the_abi_of_the_crate() {
    assert_eq!(halfcast::library_abi_version(), halfcast::ABI_VERSION);
    assert!(halfcast::version().split('.').count() == 3, "{}", halfcast::version());
    assert!(halfcast::check_abi_version(halfcast::ABI_VERSION + 1).is_err());
}

#[test]
fn converts_file_to_file_with_external_data() {
    let output = scratch("classifier.external.onnx");
    let mut save = halfcast::SaveOptions::new().unwrap();
    save.external_data(1024, None).unwrap();
    let report =
        halfcast::convert_file(model_path(CLASSIFIER), &output, None, Some(&save)).unwrap();
    assert!(report.nodes_converted() > 0);
    let side = std::fs::metadata(output.with_extension("onnx.data")).unwrap();
    assert!(side.len() > 100_000, "the weights went to the side file: {}", side.len());
    assert!(Model::load(&output).is_ok());
    let missing = halfcast::convert_file(model_path("none.onnx"), &output, None, None);
    assert_eq!(missing.err().unwrap().code(), Code::NotFound);
}

/// Run by bindings/run_tests.sh with a stand-in library of ABI 2 first on the loader's path.
#[test]
#[ignore = "needs a libhalfcast_c of another ABI (bindings/foreign_abi_library.sh)"]
fn a_library_of_another_abi_is_refused_on_first_use() {
    assert_eq!(halfcast::library_abi_version(), 2, "the stand-in library is not the one loaded");
    for _ in 0..2 {
        let error = Model::load(model_path(CLASSIFIER)).err().expect("refused");
        assert_eq!(error.code(), Code::FailedPrecondition);
        assert!(error.message().contains("C ABI version 2, this crate needs 1"), "{error}");
        assert!(ConvertOptions::new().is_err() && Tensor::from_slice(&[1], &[1.0f32]).is_err());
    }
}

/// tests/capi/data/tiny.onnx computed in Rust: y = Relu(x @ W + b), x float32 [1, 4]
/// (tests/capi/data/make_tiny.py), standing in for the caller's own runtime.
fn tiny_in_rust(x: &[f32]) -> Vec<f32> {
    const W: [[f32; 4]; 4] = [
        [0.5, -1.0, 2.0, 0.25],
        [1.5, 0.75, -0.5, 1e-9],
        [-2.0, 0.125, 1.0, 3.0],
        [0.0, 2.5, -1.25, 2e4],
    ];
    const B: [f32; 4] = [0.1, -0.2, 0.3, -0.4];
    (0..4).map(|j| (0..4).map(|i| x[i] * W[i][j]).sum::<f32>() + B[j]).map(|v| v.max(0.0)).collect()
}

#[test]
fn mixed_precision_runs_in_a_rust_evaluator() {
    let tiny = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../tests/capi/data/tiny.onnx");
    let model = Model::load(tiny).unwrap();
    let mut inputs = NamedTensors::new().unwrap();
    inputs.insert("x", &Tensor::from_slice(&[1, 4], &[0.5f32, -1.0, 2.0, 0.001]).unwrap()).unwrap();
    let feeds = Feeds::single(&inputs).unwrap();
    let mut calls = 0;
    let mut options = MixedPrecisionOptions::new().unwrap();
    options.keep_io_types(true).unwrap().rtol(1e-3).unwrap().atol(1e-4).unwrap();
    options
        .on_evaluate(|model_bytes, feeds, outputs| {
            calls += 1;
            assert!(Model::from_bytes(model_bytes).is_ok(), "the candidate is a model");
            let x = feeds.get("x").expect("x").to_f32().expect("float x");
            outputs.insert("y", &Tensor::from_slice(&[1, 4], &tiny_in_rust(&x))?)
        })
        .unwrap();
    // This "runtime" computes in float32 whatever the model says, so everything validates.
    let mixed = model.auto_mixed_precision(&feeds, &options).unwrap();
    assert_eq!(mixed.report.nodes_kept(), 0);
    drop(options);
    assert!(calls >= 2, "{calls} evaluations");

    // The runtime's error comes back with its code and message.
    let mut options = MixedPrecisionOptions::new().unwrap();
    options.rtol(1e-3).unwrap();
    options
        .on_evaluate(|_, _, _| Err(halfcast::Error::new(Code::Unavailable, "runtime is gone")))
        .unwrap();
    let error = model.auto_mixed_precision(&feeds, &options).err().unwrap();
    assert_eq!(error.code(), Code::Unavailable);
    assert!(error.message().contains("runtime is gone"), "{error}");

    // A panic in it comes back as the panic.
    options.on_evaluate(|_, _, _| panic!("runtime exploded")).unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| model.auto_mixed_precision(&feeds, &options)))
        .err()
        .expect("the panic comes back");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"runtime exploded"));
}
