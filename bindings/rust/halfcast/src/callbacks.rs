//! Rust closures behind the C API's callbacks. A closure lives in a [`Slot`] owned by the
//! options that registered it; the slot's address is the callback's `user_data`. A panic is
//! caught before it reaches C (unwinding through C is undefined), stored in the slot, and
//! resumed by the conversion call once the library has returned.
use std::any::Any;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::ffi::CStr;
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use halfcast_sys as sys;

use crate::error::{c_string, check, Error, Result};
use crate::tensor::{NamedTensorsRef, Tensor};

/// The importance of a log message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
}

impl LogLevel {
    fn from_raw(raw: sys::halfcast_log_level) -> LogLevel {
        match raw {
            sys::HALFCAST_LOG_DEBUG => LogLevel::Debug,
            sys::HALFCAST_LOG_INFO => LogLevel::Info,
            sys::HALFCAST_LOG_WARNING => LogLevel::Warning,
            _ => LogLevel::Error,
        }
    }
}

/// Whether a segment of the search holds float16 nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SegmentState {
    Untried,
    Good,
    Bad,
    Other(i32),
}

/// A run of consecutive top-level nodes the search treats as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    /// Position of its first top-level node.
    pub begin: usize,
    /// Number of nodes.
    pub size: usize,
    pub state: SegmentState,
}

/// The state of a mixed-precision search after an attempt, borrowed for the progress
/// callback's duration.
pub struct Progress<'a> {
    ptr: *const sys::halfcast_progress,
    _owner: PhantomData<&'a ()>,
}

impl<'a> Progress<'a> {
    /// Model runs so far.
    pub fn evaluations(&self) -> i64 {
        // SAFETY: ptr is live for 'a (as below).
        unsafe { sys::halfcast_progress_evaluations(self.ptr) }
    }

    pub fn elapsed_seconds(&self) -> f64 {
        unsafe { sys::halfcast_progress_elapsed_seconds(self.ptr) }
    }

    /// The segments in graph order.
    pub fn segments(&self) -> Vec<Segment> {
        let count = unsafe { sys::halfcast_progress_segment_count(self.ptr) };
        (0..count)
            .filter_map(|i| {
                let (mut begin, mut size, mut state) = (0, 0, 0);
                let found = unsafe {
                    sys::halfcast_progress_segment(self.ptr, i, &mut begin, &mut size, &mut state)
                };
                let state = match state {
                    sys::HALFCAST_SEGMENT_UNTRIED => SegmentState::Untried,
                    sys::HALFCAST_SEGMENT_GOOD => SegmentState::Good,
                    sys::HALFCAST_SEGMENT_BAD => SegmentState::Bad,
                    other => SegmentState::Other(other),
                };
                (found != 0).then_some(Segment { begin, size, state })
            })
            .collect()
    }

    /// The segments as onnxconverter-common prints them: good sizes in *stars*, bad in
    /// (parentheses), untried plain.
    pub fn text(&self) -> Cow<'a, str> {
        unsafe { CStr::from_ptr(sys::halfcast_progress_text(self.ptr)).to_string_lossy() }
    }
}

pub(crate) type LogFn<'a> = dyn FnMut(LogLevel, &str) + Send + 'a;
pub(crate) type ValidateFn<'a> =
    dyn FnMut(&NamedTensorsRef<'_>, &NamedTensorsRef<'_>) -> bool + Send + 'a;
pub(crate) type EvaluateFn<'a> =
    dyn FnMut(&[u8], &NamedTensorsRef<'_>, &mut EvaluatorOutputs<'_>) -> Result<()> + Send + 'a;
pub(crate) type ProgressFn<'a> = dyn FnMut(&Progress<'_>) -> ControlFlow<()> + Send + 'a;

/// One registered closure and the panic it raised, if any.
pub(crate) struct Slot<F: ?Sized> {
    callback: RefCell<Box<F>>,
    panic: Cell<Option<Box<dyn Any + Send>>>,
}

impl<F: ?Sized> Slot<F> {
    pub(crate) fn new(callback: Box<F>) -> Box<Slot<F>> {
        Box::new(Slot { callback: RefCell::new(callback), panic: Cell::new(None) })
    }

    pub(crate) fn user_data(&self) -> *mut c_void {
        self as *const Slot<F> as *mut c_void
    }

    /// Runs the closure; None when it panics, has panicked before in this call, or is already
    /// running (a re-entrant call would alias its `&mut`).
    fn call<R>(&self, run: impl FnOnce(&mut F) -> R) -> Option<R> {
        let earlier = self.panic.take();
        if earlier.is_some() {
            self.panic.set(earlier);
            return None;
        }
        let mut callback = self.callback.try_borrow_mut().ok()?;
        match catch_unwind(AssertUnwindSafe(|| run(&mut **callback))) {
            Ok(result) => Some(result),
            Err(payload) => {
                self.panic.set(Some(payload));
                None
            }
        }
    }

    /// Re-raises, on the Rust side, a panic the closure raised during the last call.
    pub(crate) fn resume_panic(&self) {
        if let Some(payload) = self.panic.take() {
            resume_unwind(payload);
        }
    }
}

pub(crate) unsafe extern "C" fn log_trampoline(
    level: sys::halfcast_log_level,
    message: *const c_char,
    user_data: *mut c_void,
) {
    // SAFETY: user_data is the Slot registered with this trampoline, alive as long as the
    // options; message is a C string for the call.
    let slot = &*(user_data as *const Slot<LogFn<'static>>);
    slot.call(|log| {
        let text = if message.is_null() {
            Cow::Borrowed("")
        } else {
            CStr::from_ptr(message).to_string_lossy()
        };
        log(LogLevel::from_raw(level), &text)
    });
}

pub(crate) unsafe extern "C" fn validate_trampoline(
    reference: *const sys::halfcast_named_tensors,
    candidate: *const sys::halfcast_named_tensors,
    user_data: *mut c_void,
) -> c_int {
    // SAFETY: as in log_trampoline; both sets are live for the call. An error (-1) stops the
    // search with ABORTED.
    let slot = &*(user_data as *const Slot<ValidateFn<'static>>);
    slot.call(|validate| {
        let (reference, candidate) =
            (NamedTensorsRef::from_ptr(reference), NamedTensorsRef::from_ptr(candidate));
        c_int::from(validate(&reference, &candidate))
    })
    .unwrap_or(-1)
}

pub(crate) unsafe extern "C" fn progress_trampoline(
    progress: *const sys::halfcast_progress,
    user_data: *mut c_void,
) -> c_int {
    // SAFETY: as in log_trampoline. A panic cancels the search (non-zero).
    let slot = &*(user_data as *const Slot<ProgressFn<'static>>);
    slot.call(|on_progress| {
        let progress = Progress { ptr: progress, _owner: PhantomData };
        c_int::from(on_progress(&progress).is_break())
    })
    .unwrap_or(1)
}

/// Where an evaluator closure puts the graph outputs it computed (a set the library owns,
/// valid for the closure's duration).
pub struct EvaluatorOutputs<'a> {
    ptr: *mut sys::halfcast_named_tensors,
    _owner: PhantomData<&'a mut ()>,
}

impl EvaluatorOutputs<'_> {
    /// Adds `tensor` as the output `name` (the library shares or copies its data).
    pub fn insert(&mut self, name: &str, tensor: &Tensor) -> Result<()> {
        let name = c_string(name, "an output name")?;
        // SAFETY: the set is live for the closure's call; the tensor handle is live.
        unsafe { check(sys::halfcast_named_tensors_add(self.ptr, name.as_ptr(), tensor.as_ptr())) }
    }
}

/// A status for the library from an evaluator's error (the library takes it over).
fn status_of(error: &Error) -> *mut sys::halfcast_status {
    let message = c_string(&error.message().replace('\0', " "), "a message").unwrap_or_default();
    // SAFETY: a valid C string; never returns NULL.
    unsafe { sys::halfcast_status_create(error.code().raw(), message.as_ptr()) }
}

pub(crate) unsafe extern "C" fn evaluate_trampoline(
    model_bytes: *const c_void,
    model_size: usize,
    feeds: *const sys::halfcast_named_tensors,
    outputs: *mut sys::halfcast_named_tensors,
    user_data: *mut c_void,
) -> *mut sys::halfcast_status {
    // SAFETY: as in log_trampoline; the bytes and both sets are live for the call.
    let slot = &*(user_data as *const Slot<EvaluateFn<'static>>);
    let result = slot.call(|evaluate| {
        let bytes = if model_size == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(model_bytes.cast::<u8>(), model_size)
        };
        let mut sink = EvaluatorOutputs { ptr: outputs, _owner: PhantomData };
        evaluate(bytes, &NamedTensorsRef::from_ptr(feeds), &mut sink)
    });
    match result {
        Some(Ok(())) => std::ptr::null_mut(),
        Some(Err(error)) => status_of(&error),
        // The panic is resumed once the search returns; this status only stops it.
        None => status_of(&Error::new(
            crate::Code::Aborted,
            "the evaluator closure panicked (or was re-entered)",
        )),
    }
}
