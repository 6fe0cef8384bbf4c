//! Options of conversions and mixed-precision searches, and of how models are saved.
use std::ffi::CStr;
use std::ops::ControlFlow;
use std::os::raw::c_char;
use std::ptr::{self, NonNull};

use halfcast_sys as sys;

use crate::callbacks::{
    evaluate_trampoline, log_trampoline, progress_trampoline, validate_trampoline, EvaluateFn,
    EvaluatorOutputs, LogFn, LogLevel, Progress, ProgressFn, Slot, ValidateFn,
};
use crate::error::{c_string, check, create, Result};
use crate::tensor::NamedTensorsRef;

/// Option keys (`halfcast_option`), shared by [`ConvertOptions`] (C) and
/// [`MixedPrecisionOptions`] (M); each takes one kind of value. See the C header for defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptionKey {
    /// f64 (C, M): constants with 0 < |x| < it become sign(x) * it.
    MinPositiveVal,
    /// f64 (C, M): finite constants with |x| > it become sign(x) * it.
    MaxFiniteVal,
    /// bool (C, M): float32 graph inputs and outputs stay float32.
    KeepIoTypes,
    /// strings (C): only these graph inputs/outputs stay float32.
    KeepIoNames,
    /// bool (C): skip ONNX shape inference.
    DisableShapeInfer,
    /// strings (C, M): op types kept in float32.
    OpBlockList,
    /// strings (C): node names kept in float32.
    NodeBlockList,
    /// ints (C): positions of top-level nodes kept in float32.
    NodeIndexBlockList,
    /// bool (C): refuse a model already holding float16/bfloat16.
    CheckFp16Ready,
    /// int (C, M): a [`Target`].
    Target,
    /// f64 (M): numpy.allclose rtol.
    Rtol,
    /// f64 (M): numpy.allclose atol.
    Atol,
    /// int (M): a [`Strategy`].
    Strategy,
    /// int (M): evaluations allowed, 0 = no limit.
    MaxEvaluations,
    /// strings (C, M): "domain:op_type" ops declared 16-bit capable.
    Fp16Ops,
    /// f64 (M): seconds the whole search may take, 0 = no limit.
    TimeLimit,
    /// f64 (M), in [0, 1): candidates must meet rtol/atol scaled by (1 - it).
    SafetyMargin,
    /// int (M): bytes of values the search keeps between evaluations, 0 = no bound.
    MaxRetainedBytes,
    /// strings (C, M): op types forced to 16 bits, over the op block list.
    OpIncludeList,
    /// strings (C, M): node names forced to 16 bits, over every block list.
    NodeIncludeList,
    /// bool (C, M): a list entry that matches nothing is an error.
    StrictLists,
    /// bool (M): a limit returns the best candidate so far instead of failing.
    KeepBest,
    /// bool (M): candidates must also validate as ONNX Runtime's CPU provider runs float16.
    CheckOrtCpu,
}

impl OptionKey {
    /// The C value (`halfcast_option`).
    pub fn raw(self) -> sys::halfcast_option {
        match self {
            OptionKey::MinPositiveVal => sys::HALFCAST_OPTION_MIN_POSITIVE_VAL,
            OptionKey::MaxFiniteVal => sys::HALFCAST_OPTION_MAX_FINITE_VAL,
            OptionKey::KeepIoTypes => sys::HALFCAST_OPTION_KEEP_IO_TYPES,
            OptionKey::KeepIoNames => sys::HALFCAST_OPTION_KEEP_IO_NAMES,
            OptionKey::DisableShapeInfer => sys::HALFCAST_OPTION_DISABLE_SHAPE_INFER,
            OptionKey::OpBlockList => sys::HALFCAST_OPTION_OP_BLOCK_LIST,
            OptionKey::NodeBlockList => sys::HALFCAST_OPTION_NODE_BLOCK_LIST,
            OptionKey::NodeIndexBlockList => sys::HALFCAST_OPTION_NODE_INDEX_BLOCK_LIST,
            OptionKey::CheckFp16Ready => sys::HALFCAST_OPTION_CHECK_FP16_READY,
            OptionKey::Target => sys::HALFCAST_OPTION_TARGET,
            OptionKey::Rtol => sys::HALFCAST_OPTION_RTOL,
            OptionKey::Atol => sys::HALFCAST_OPTION_ATOL,
            OptionKey::Strategy => sys::HALFCAST_OPTION_STRATEGY,
            OptionKey::MaxEvaluations => sys::HALFCAST_OPTION_MAX_EVALUATIONS,
            OptionKey::Fp16Ops => sys::HALFCAST_OPTION_FP16_OPS,
            OptionKey::TimeLimit => sys::HALFCAST_OPTION_TIME_LIMIT,
            OptionKey::SafetyMargin => sys::HALFCAST_OPTION_SAFETY_MARGIN,
            OptionKey::MaxRetainedBytes => sys::HALFCAST_OPTION_MAX_RETAINED_BYTES,
            OptionKey::OpIncludeList => sys::HALFCAST_OPTION_OP_INCLUDE_LIST,
            OptionKey::NodeIncludeList => sys::HALFCAST_OPTION_NODE_INCLUDE_LIST,
            OptionKey::StrictLists => sys::HALFCAST_OPTION_STRICT_LISTS,
            OptionKey::KeepBest => sys::HALFCAST_OPTION_KEEP_BEST,
            OptionKey::CheckOrtCpu => sys::HALFCAST_OPTION_CHECK_ORT_CPU,
        }
    }

    /// The library's stable name ("keep_io_types", ...).
    pub fn name(self) -> &'static str {
        // SAFETY: static storage; NULL only for an unknown key.
        unsafe {
            let name = sys::halfcast_option_name(self.raw());
            if name.is_null() {
                ""
            } else {
                CStr::from_ptr(name).to_str().unwrap_or("")
            }
        }
    }
}

/// The 16-bit type a conversion targets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Target {
    /// IEEE 754 binary16.
    #[default]
    Float16,
    Bfloat16,
}

/// How a mixed-precision search picks what to try.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Fewest evaluations.
    #[default]
    ErrorGuided,
    /// onnxconverter-common's algorithm, reproduced exactly.
    Bisect,
}

/// C strings for a list setter: the owned strings and the pointer array over them.
fn c_strings<I, S>(values: I) -> Result<(Vec<std::ffi::CString>, Vec<*const c_char>)>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let owned = values
        .into_iter()
        .map(|v| c_string(v.as_ref(), "an option value"))
        .collect::<Result<Vec<_>>>()?;
    let pointers = owned.iter().map(|s| s.as_ptr()).collect();
    Ok((owned, pointers))
}

/// The setters both option kinds share, over their C functions.
macro_rules! shared_setters {
    ($set_bool:ident, $set_int:ident, $set_double:ident, $set_strings:ident, $set_log:ident) => {
        /// Sets a bool option. A key of another kind or foreign to these options is
        /// INVALID_ARGUMENT.
        pub fn set_bool(&mut self, key: OptionKey, value: bool) -> Result<&mut Self> {
            // SAFETY: live handle (as for every setter).
            unsafe { check(sys::$set_bool(self.ptr.as_ptr(), key.raw(), value.into()))? };
            Ok(self)
        }

        /// Sets an int option; out of range is INVALID_ARGUMENT.
        pub fn set_int(&mut self, key: OptionKey, value: i64) -> Result<&mut Self> {
            unsafe { check(sys::$set_int(self.ptr.as_ptr(), key.raw(), value))? };
            Ok(self)
        }

        /// Sets a floating-point option; out of range is INVALID_ARGUMENT.
        pub fn set_double(&mut self, key: OptionKey, value: f64) -> Result<&mut Self> {
            unsafe { check(sys::$set_double(self.ptr.as_ptr(), key.raw(), value))? };
            Ok(self)
        }

        /// Replaces a string-list option.
        pub fn set_strings<I, S>(&mut self, key: OptionKey, values: I) -> Result<&mut Self>
        where
            I: IntoIterator<Item = S>,
            S: AsRef<str>,
        {
            let (_owned, pointers) = c_strings(values)?;
            // SAFETY: the pointers stay valid (in _owned) for the call, which copies them.
            unsafe {
                check(sys::$set_strings(
                    self.ptr.as_ptr(),
                    key.raw(),
                    pointers.as_ptr(),
                    pointers.len(),
                ))?
            };
            Ok(self)
        }

        /// float32 graph inputs and outputs stay float32 (KEEP_IO_TYPES).
        pub fn keep_io_types(&mut self, keep: bool) -> Result<&mut Self> {
            self.set_bool(OptionKey::KeepIoTypes, keep)
        }

        /// The 16-bit type to convert to (TARGET).
        pub fn target(&mut self, target: Target) -> Result<&mut Self> {
            let raw = match target {
                Target::Float16 => sys::HALFCAST_TARGET_FLOAT16,
                Target::Bfloat16 => sys::HALFCAST_TARGET_BFLOAT16,
            };
            self.set_int(OptionKey::Target, raw.into())
        }

        /// Sends what the library has to say to `log`, called on the converting thread. A
        /// panic in it is resumed once the conversion call returns.
        pub fn on_log(&mut self, log: impl FnMut(LogLevel, &str) + Send + 'a) -> Result<&mut Self> {
            let slot: Box<Slot<LogFn<'a>>> = Slot::new(Box::new(log));
            // SAFETY: the slot lives in self until replaced, which happens after the library
            // points at the new one, or until the handle is destroyed.
            unsafe {
                check(sys::$set_log(self.ptr.as_ptr(), Some(log_trampoline), slot.user_data()))?
            };
            self.log = Some(slot);
            Ok(self)
        }
    };
}

/// Options of [`Model::convert`](crate::Model::convert) and
/// [`convert_file`](crate::convert_file), created with onnxconverter-common's defaults. `'a`
/// bounds what the log closure borrows.
///
/// Send but not Sync: the log closure is `FnMut`, so one thread at a time may convert with it.
///
/// ```
/// let mut options = halfcast::ConvertOptions::new()?;
/// options.keep_io_types(true)?.set_strings(halfcast::OptionKey::OpBlockList, ["Resize"])?;
/// # Ok::<(), halfcast::Error>(())
/// ```
pub struct ConvertOptions<'a> {
    ptr: NonNull<sys::halfcast_convert_options>,
    log: Option<Box<Slot<LogFn<'a>>>>,
}

// SAFETY: the handle is used by one thread at a time (no Sync); the closures are Send.
unsafe impl Send for ConvertOptions<'_> {}

impl<'a> ConvertOptions<'a> {
    pub fn new() -> Result<ConvertOptions<'a>> {
        Ok(ConvertOptions { ptr: create(sys::halfcast_convert_options_create)?, log: None })
    }

    shared_setters!(
        halfcast_convert_options_set_bool,
        halfcast_convert_options_set_int,
        halfcast_convert_options_set_double,
        halfcast_convert_options_set_strings,
        halfcast_convert_options_set_log_callback
    );

    /// Replaces an int-list option (NODE_INDEX_BLOCK_LIST).
    pub fn set_ints(&mut self, key: OptionKey, values: &[i64]) -> Result<&mut Self> {
        // SAFETY: live handle; the values are copied.
        unsafe {
            check(sys::halfcast_convert_options_set_ints(
                self.ptr.as_ptr(),
                key.raw(),
                values.as_ptr(),
                values.len(),
            ))?
        };
        Ok(self)
    }

    pub(crate) fn as_ptr(&self) -> *const sys::halfcast_convert_options {
        self.ptr.as_ptr()
    }

    /// Re-raises a panic a closure raised during the last call.
    pub(crate) fn resume_panic(&self) {
        if let Some(slot) = &self.log {
            slot.resume_panic();
        }
    }
}

impl Drop for ConvertOptions<'_> {
    fn drop(&mut self) {
        // SAFETY: owned, destroyed once, before the closures it points at.
        unsafe { sys::halfcast_convert_options_destroy(self.ptr.as_ptr()) }
    }
}

/// Options of [`Model::auto_mixed_precision`](crate::Model::auto_mixed_precision), created
/// with the defaults, which set no tolerance: set [`rtol`](Self::rtol) and/or
/// [`atol`](Self::atol), or a validate closure. `'a` bounds what the closures borrow.
///
/// Send but not Sync: the closures are `FnMut`, so one thread at a time may search with them.
pub struct MixedPrecisionOptions<'a> {
    ptr: NonNull<sys::halfcast_mixed_precision_options>,
    log: Option<Box<Slot<LogFn<'a>>>>,
    validate: Option<Box<Slot<ValidateFn<'a>>>>,
    progress: Option<Box<Slot<ProgressFn<'a>>>>,
    evaluate: Option<Box<Slot<EvaluateFn<'a>>>>,
}

// SAFETY: as for ConvertOptions.
unsafe impl Send for MixedPrecisionOptions<'_> {}

impl<'a> MixedPrecisionOptions<'a> {
    pub fn new() -> Result<MixedPrecisionOptions<'a>> {
        Ok(MixedPrecisionOptions {
            ptr: create(sys::halfcast_mixed_precision_options_create)?,
            log: None,
            validate: None,
            progress: None,
            evaluate: None,
        })
    }

    shared_setters!(
        halfcast_mixed_precision_options_set_bool,
        halfcast_mixed_precision_options_set_int,
        halfcast_mixed_precision_options_set_double,
        halfcast_mixed_precision_options_set_strings,
        halfcast_mixed_precision_options_set_log_callback
    );

    /// numpy.allclose's rtol (RTOL).
    pub fn rtol(&mut self, rtol: f64) -> Result<&mut Self> {
        self.set_double(OptionKey::Rtol, rtol)
    }

    /// numpy.allclose's atol (ATOL).
    pub fn atol(&mut self, atol: f64) -> Result<&mut Self> {
        self.set_double(OptionKey::Atol, atol)
    }

    /// How the search proceeds (STRATEGY).
    pub fn strategy(&mut self, strategy: Strategy) -> Result<&mut Self> {
        let raw = match strategy {
            Strategy::ErrorGuided => sys::HALFCAST_STRATEGY_ERROR_GUIDED,
            Strategy::Bisect => sys::HALFCAST_STRATEGY_BISECT,
        };
        self.set_int(OptionKey::Strategy, raw.into())
    }

    /// Judges each candidate: `validate(reference, candidate)` gets the float32 model's and the
    /// candidate's outputs by name and returns true to accept. Used instead of, or together
    /// with, rtol/atol. A panic stops the search and is resumed once the call returns.
    pub fn on_validate(
        &mut self,
        validate: impl FnMut(&NamedTensorsRef<'_>, &NamedTensorsRef<'_>) -> bool + Send + 'a,
    ) -> Result<&mut Self> {
        let slot: Box<Slot<ValidateFn<'a>>> = Slot::new(Box::new(validate));
        // SAFETY: as in on_log.
        unsafe {
            check(sys::halfcast_mixed_precision_options_set_validate_callback(
                self.ptr.as_ptr(),
                Some(validate_trampoline),
                slot.user_data(),
            ))?
        };
        self.validate = Some(slot);
        Ok(self)
    }

    /// Called after each attempt; `ControlFlow::Break(())` cancels the search (CANCELLED).
    pub fn on_progress(
        &mut self,
        progress: impl FnMut(&Progress<'_>) -> ControlFlow<()> + Send + 'a,
    ) -> Result<&mut Self> {
        let slot: Box<Slot<ProgressFn<'a>>> = Slot::new(Box::new(progress));
        // SAFETY: as in on_log.
        unsafe {
            check(sys::halfcast_mixed_precision_options_set_progress_callback(
                self.ptr.as_ptr(),
                Some(progress_trampoline),
                slot.user_data(),
            ))?
        };
        self.progress = Some(slot);
        Ok(self)
    }

    /// Runs models in the caller's runtime instead of the built-in CPU evaluator:
    /// `evaluate(model_bytes, feeds, outputs)` gets a serialized self-contained model and one
    /// run's inputs, and inserts the graph outputs it computed into `outputs` (extra outputs the
    /// model lists for intermediate values are optional). An `Err` stops the search with that
    /// error; a panic stops it and is resumed once the call returns.
    pub fn on_evaluate(
        &mut self,
        evaluate: impl FnMut(&[u8], &NamedTensorsRef<'_>, &mut EvaluatorOutputs<'_>) -> Result<()>
            + Send
            + 'a,
    ) -> Result<&mut Self> {
        let slot: Box<Slot<EvaluateFn<'a>>> = Slot::new(Box::new(evaluate));
        // SAFETY: as in on_log.
        unsafe {
            check(sys::halfcast_mixed_precision_options_set_evaluator_callback(
                self.ptr.as_ptr(),
                Some(evaluate_trampoline),
                slot.user_data(),
            ))?
        };
        self.evaluate = Some(slot);
        Ok(self)
    }

    pub(crate) fn as_ptr(&self) -> *const sys::halfcast_mixed_precision_options {
        self.ptr.as_ptr()
    }

    /// Re-raises a panic a closure raised during the last call.
    pub(crate) fn resume_panic(&self) {
        if let Some(slot) = &self.log {
            slot.resume_panic();
        }
        if let Some(slot) = &self.validate {
            slot.resume_panic();
        }
        if let Some(slot) = &self.progress {
            slot.resume_panic();
        }
        if let Some(slot) = &self.evaluate {
            slot.resume_panic();
        }
    }
}

impl Drop for MixedPrecisionOptions<'_> {
    fn drop(&mut self) {
        // SAFETY: owned, destroyed once, before the closures it points at.
        unsafe { sys::halfcast_mixed_precision_options_destroy(self.ptr.as_ptr()) }
    }
}

/// How a model file is written: by default one self-contained file.
pub struct SaveOptions {
    ptr: NonNull<sys::halfcast_save_options>,
}

// SAFETY: mutation needs &mut; threads may share options they only read.
unsafe impl Send for SaveOptions {}
unsafe impl Sync for SaveOptions {}

impl SaveOptions {
    pub fn new() -> Result<SaveOptions> {
        Ok(SaveOptions { ptr: create(sys::halfcast_save_options_create)? })
    }

    /// Tensors of at least `threshold_bytes` go to the side file `file_name` (None:
    /// `"<model file name>.data"`) next to the model.
    pub fn external_data(
        &mut self,
        threshold_bytes: i64,
        file_name: Option<&str>,
    ) -> Result<&mut Self> {
        let name = file_name.map(|n| c_string(n, "an external data file name")).transpose()?;
        let name_ptr = name.as_ref().map_or(ptr::null(), |n| n.as_ptr());
        // SAFETY: live handle; the name is copied.
        unsafe {
            check(sys::halfcast_save_options_set_external_data(
                self.ptr.as_ptr(),
                1,
                threshold_bytes,
                name_ptr,
            ))?
        };
        Ok(self)
    }

    pub(crate) fn as_ptr(&self) -> *const sys::halfcast_save_options {
        self.ptr.as_ptr()
    }
}

impl Drop for SaveOptions {
    fn drop(&mut self) {
        // SAFETY: owned, destroyed once.
        unsafe { sys::halfcast_save_options_destroy(self.ptr.as_ptr()) }
    }
}
