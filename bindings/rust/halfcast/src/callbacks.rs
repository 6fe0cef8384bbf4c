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

use crate::tensor::NamedTensorsRef;

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

    /// Runs the closure, or gives `fallback` when it panics, has panicked before in this call,
    /// or is already running (a re-entrant call would alias its `&mut`).
    fn call<R>(&self, fallback: R, run: impl FnOnce(&mut F) -> R) -> R {
        let earlier = self.panic.take();
        if earlier.is_some() {
            self.panic.set(earlier);
            return fallback;
        }
        let mut callback = match self.callback.try_borrow_mut() {
            Ok(callback) => callback,
            Err(_) => return fallback,
        };
        match catch_unwind(AssertUnwindSafe(|| run(&mut **callback))) {
            Ok(result) => result,
            Err(payload) => {
                self.panic.set(Some(payload));
                fallback
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
    slot.call((), |log| {
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
    slot.call(-1, |validate| {
        let (reference, candidate) =
            (NamedTensorsRef::from_ptr(reference), NamedTensorsRef::from_ptr(candidate));
        c_int::from(validate(&reference, &candidate))
    })
}

pub(crate) unsafe extern "C" fn progress_trampoline(
    progress: *const sys::halfcast_progress,
    user_data: *mut c_void,
) -> c_int {
    // SAFETY: as in log_trampoline. A panic cancels the search (non-zero).
    let slot = &*(user_data as *const Slot<ProgressFn<'static>>);
    slot.call(1, |on_progress| {
        let progress = Progress { ptr: progress, _owner: PhantomData };
        c_int::from(on_progress(&progress).is_break())
    })
}
