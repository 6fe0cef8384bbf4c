//! halfcast converts ONNX models from float32 to float16 or bfloat16, whole or as mixed
//! precision found under an accuracy bound. This crate is a safe API over its C ABI
//! (libhalfcast_c, declared by the `halfcast-sys` crate):
//!
//! - every fallible call returns [`Result`], whose [`Error`] carries the library's [`Code`]
//!   and message;
//! - every handle is a value whose `Drop` frees it;
//! - callbacks (log, validate, progress, evaluator) are closures; a panic in one never unwinds into C: it
//!   is caught, the library is told to stop where it can, and the panic is resumed once the
//!   library call has returned;
//! - models, reports, tensors, tensor sets, feeds and save options are `Send + Sync` (the C
//!   API lets threads share handles they only read, and distinct handles are independent);
//!   conversion options are `Send` only, since their closures are `FnMut`;
//! - the first call that creates a handle checks that the loaded library implements the C ABI
//!   this crate was written against ([`ABI_VERSION`]) and fails with FAILED_PRECONDITION if
//!   not.
//!
//! ```
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../tests/data/models/silero_vad.onnx");
//! # let out = std::env::temp_dir().join(format!("halfcast-doc-{}.onnx", std::process::id()));
//! let model = halfcast::Model::load(path)?;
//! let mut options = halfcast::ConvertOptions::new()?;
//! options.keep_io_types(true)?.on_log(|level, message| eprintln!("{level:?}: {message}"))?;
//! let converted = model.convert(&options)?;
//! converted.model.save(&out)?;
//! println!("{} nodes converted", converted.report.nodes_converted());
//! # std::fs::remove_file(&out).unwrap();
//! # Ok::<(), halfcast::Error>(())
//! ```
//!
//! Linking: `halfcast-sys` finds libhalfcast_c through `HALFCAST_LIB_DIR` or
//! `pkg-config halfcast`; at run time the loader must find it too (an installed library, or
//! `LD_LIBRARY_PATH`).

mod callbacks;
mod error;
mod model;
mod options;
mod report;
mod tensor;

pub use callbacks::{EvaluatorOutputs, LogLevel, Progress, Segment, SegmentState};
pub use error::{
    check_abi_version, library_abi_version, version, Code, Error, Result, ABI_VERSION,
};
pub use model::{auto_mixed_precision_file, convert_file, Conversion, Model};
pub use options::{
    ConvertOptions, MixedPrecisionOptions, OptionKey, SaveOptions, Strategy, Target,
};
pub use report::{KeptNode, Report, ReportValue};
pub use tensor::{
    f16_to_f32, Element, ElementType, Feeds, NamedTensors, NamedTensorsRef, Tensor, TensorRef,
};
