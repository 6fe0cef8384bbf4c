//! Errors: a halfcast_status turned into a Rust value, and the ABI check every entry point runs.
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::c_char;
use std::sync::Mutex;

use halfcast_sys as sys;

/// What went wrong, as the C API's `halfcast_status_code` (the values of absl::StatusCode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    Cancelled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
    /// A code newer than this crate (the C enum is only ever appended to).
    Other(i32),
}

const CODES: [(Code, sys::halfcast_status_code); 16] = [
    (Code::Cancelled, sys::HALFCAST_CANCELLED),
    (Code::Unknown, sys::HALFCAST_UNKNOWN),
    (Code::InvalidArgument, sys::HALFCAST_INVALID_ARGUMENT),
    (Code::DeadlineExceeded, sys::HALFCAST_DEADLINE_EXCEEDED),
    (Code::NotFound, sys::HALFCAST_NOT_FOUND),
    (Code::AlreadyExists, sys::HALFCAST_ALREADY_EXISTS),
    (Code::PermissionDenied, sys::HALFCAST_PERMISSION_DENIED),
    (Code::ResourceExhausted, sys::HALFCAST_RESOURCE_EXHAUSTED),
    (Code::FailedPrecondition, sys::HALFCAST_FAILED_PRECONDITION),
    (Code::Aborted, sys::HALFCAST_ABORTED),
    (Code::OutOfRange, sys::HALFCAST_OUT_OF_RANGE),
    (Code::Unimplemented, sys::HALFCAST_UNIMPLEMENTED),
    (Code::Internal, sys::HALFCAST_INTERNAL),
    (Code::Unavailable, sys::HALFCAST_UNAVAILABLE),
    (Code::DataLoss, sys::HALFCAST_DATA_LOSS),
    (Code::Unauthenticated, sys::HALFCAST_UNAUTHENTICATED),
];

impl Code {
    /// The code for a C value.
    pub fn from_raw(raw: i32) -> Code {
        CODES.iter().find(|(_, value)| *value == raw).map_or(Code::Other(raw), |(code, _)| *code)
    }

    /// The C value (`halfcast_status_code`).
    pub fn raw(self) -> i32 {
        match self {
            Code::Other(raw) => raw,
            code => CODES.iter().find(|(c, _)| *c == code).map_or(sys::HALFCAST_UNKNOWN, |e| e.1),
        }
    }

    /// The library's stable lower-case name ("invalid_argument", ...).
    pub fn name(self) -> &'static str {
        // SAFETY: the name is in static storage and never NULL.
        unsafe { static_str(sys::halfcast_status_code_name(self.raw())) }
    }
}

/// A failed halfcast call: the library's error code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: Code,
    message: String,
}

/// The result of a halfcast call.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error of `code`, e.g. for an evaluator closure to report its runtime's failure.
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }

    /// The error's code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The library's message, which names what is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code.name())
    }
}

impl std::error::Error for Error {}

/// Turns a status into a Result, destroying the status.
///
/// # Safety
/// `status` is NULL or a status the library returned, not yet destroyed.
pub(crate) unsafe fn check(status: *mut sys::halfcast_status) -> Result<()> {
    if status.is_null() {
        return Ok(());
    }
    let error = Error::new(
        Code::from_raw(sys::halfcast_status_code_of(status)),
        borrowed_string(sys::halfcast_status_message(status)),
    );
    sys::halfcast_status_destroy(status);
    Err(error)
}

/// A copy of a borrowed C string ("" for NULL), invalid UTF-8 replaced.
///
/// # Safety
/// `text` is NULL or a NUL-terminated string alive for the call.
pub(crate) unsafe fn borrowed_string(text: *const c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    CStr::from_ptr(text).to_string_lossy().into_owned()
}

/// # Safety
/// `text` is a NUL-terminated string in static storage.
unsafe fn static_str(text: *const c_char) -> &'static str {
    if text.is_null() {
        return "";
    }
    CStr::from_ptr(text).to_str().unwrap_or("")
}

/// A C string for the library, refusing interior NUL bytes (INVALID_ARGUMENT).
pub(crate) fn c_string(text: &str, what: &str) -> Result<CString> {
    CString::new(text).map_err(|_| {
        Error::new(Code::InvalidArgument, format!("{what} holds a NUL byte: {text:?}"))
    })
}

/// The C ABI version this crate was written against (`HALFCAST_C_ABI_VERSION`).
pub const ABI_VERSION: i32 = sys::HALFCAST_C_ABI_VERSION;

/// The library's version, "MAJOR.MINOR.PATCH".
pub fn version() -> &'static str {
    // SAFETY: static storage, never NULL.
    unsafe { static_str(sys::halfcast_version()) }
}

/// The C ABI version of the libhalfcast_c loaded at run time.
pub fn library_abi_version() -> i32 {
    // SAFETY: no arguments, no state.
    unsafe { sys::halfcast_abi_version() }
}

/// Ok when a library implementing C ABI `found` can serve this crate; else the error every
/// entry point returns (FAILED_PRECONDITION), naming both versions.
pub fn check_abi_version(found: i32) -> Result<()> {
    if found == ABI_VERSION {
        return Ok(());
    }
    Err(Error::new(
        Code::FailedPrecondition,
        format!(
            "halfcast: the loaded libhalfcast_c {} implements C ABI version {found}, this crate \
             needs {ABI_VERSION} (HALFCAST_C_ABI_VERSION); install matching versions",
            version()
        ),
    ))
}

/// A new handle from a `halfcast_X_create(&out)` function, after the ABI check.
pub(crate) fn create<T>(
    create: unsafe extern "C" fn(*mut *mut T) -> *mut sys::halfcast_status,
) -> Result<std::ptr::NonNull<T>> {
    ensure_abi()?;
    let mut out = std::ptr::null_mut();
    // SAFETY: `out` is a valid place for the handle, which is the caller's on success.
    unsafe { check(create(&mut out))? };
    Ok(std::ptr::NonNull::new(out).expect("a create function gave NULL"))
}

/// Checks the loaded library's ABI once; every function that creates a handle calls it first.
pub(crate) fn ensure_abi() -> Result<()> {
    // A Mutex rather than OnceLock keeps the crate building with Debian 12's Rust (1.63).
    static CHECKED: Mutex<Option<Result<()>>> = Mutex::new(None);
    let mut checked = CHECKED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    checked.get_or_insert_with(|| check_abi_version(library_abi_version())).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_c_values() {
        for raw in 1..=16 {
            let code = Code::from_raw(raw);
            assert_ne!(code, Code::Other(raw));
            assert_eq!(code.raw(), raw);
        }
        assert_eq!(Code::from_raw(99), Code::Other(99));
        assert_eq!(Code::Other(99).raw(), 99);
        assert_eq!(Code::InvalidArgument.name(), "invalid_argument");
    }

    #[test]
    fn another_abi_version_is_refused_with_both_versions_named() {
        assert_eq!(check_abi_version(ABI_VERSION), Ok(()));
        let error = check_abi_version(ABI_VERSION + 1).unwrap_err();
        assert_eq!(error.code(), Code::FailedPrecondition);
        assert!(error.message().contains(&format!("C ABI version {}", ABI_VERSION + 1)));
        assert!(error.message().contains(&format!("needs {ABI_VERSION}")));
        assert_eq!(ensure_abi(), Ok(()));
    }
}
