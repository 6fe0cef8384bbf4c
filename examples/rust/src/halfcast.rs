//! A small safe wrapper over halfcast's C API (capi/include/halfcast/halfcast_c.h): each handle
//! is a struct whose Drop calls the matching destroy function, and every halfcast_status*
//! becomes a `Result<_, Error>`.
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

pub const ABI_VERSION: c_int = 1; // HALFCAST_C_ABI_VERSION
const OPTION_KEEP_IO_TYPES: c_int = 2;
const REPORT_NODES_CONVERTED: c_int = 0;
const REPORT_NODES_KEPT: c_int = 1;
const REPORT_EVALUATIONS: c_int = 8;
const ELEMENT_FLOAT: c_int = 1;
const ELEMENT_FLOAT16: c_int = 10;
const TENSOR_COPY: c_int = 0;

#[repr(C)]
struct Opaque {
    _private: [u8; 0],
}
type Status = *mut Opaque;
type ValidateFn = extern "C" fn(*const Opaque, *const Opaque, *mut c_void) -> c_int;

#[link(name = "halfcast_c")]
extern "C" {
    fn halfcast_version() -> *const c_char;
    fn halfcast_abi_version() -> c_int;
    fn halfcast_status_code_of(status: *const Opaque) -> c_int;
    fn halfcast_status_message(status: *const Opaque) -> *const c_char;
    fn halfcast_status_destroy(status: Status);
    fn halfcast_model_load_file(path: *const c_char, out: *mut *mut Opaque) -> Status;
    fn halfcast_model_save(model: *const Opaque, path: *const c_char, options: *const Opaque)
        -> Status;
    fn halfcast_model_destroy(model: *mut Opaque);
    fn halfcast_convert_options_create(out: *mut *mut Opaque) -> Status;
    fn halfcast_convert_options_set_bool(options: *mut Opaque, option: c_int, value: c_int)
        -> Status;
    fn halfcast_convert_options_destroy(options: *mut Opaque);
    fn halfcast_convert_float_to_float16(
        model: *const Opaque,
        options: *const Opaque,
        out_model: *mut *mut Opaque,
        out_report: *mut *mut Opaque,
    ) -> Status;
    fn halfcast_mixed_precision_options_create(out: *mut *mut Opaque) -> Status;
    fn halfcast_mixed_precision_options_set_bool(
        options: *mut Opaque,
        option: c_int,
        value: c_int,
    ) -> Status;
    fn halfcast_mixed_precision_options_set_validate_callback(
        options: *mut Opaque,
        callback: Option<ValidateFn>,
        user_data: *mut c_void,
    ) -> Status;
    fn halfcast_mixed_precision_options_destroy(options: *mut Opaque);
    fn halfcast_auto_convert_mixed_precision(
        model: *const Opaque,
        feeds: *const Opaque,
        options: *const Opaque,
        out_model: *mut *mut Opaque,
        out_report: *mut *mut Opaque,
    ) -> Status;
    fn halfcast_tensor_create(
        element_type: c_int,
        dims: *const i64,
        rank: usize,
        data: *const c_void,
        size: usize,
        mode: c_int,
        out: *mut *mut Opaque,
    ) -> Status;
    fn halfcast_tensor_destroy(tensor: *mut Opaque);
    fn halfcast_tensor_element_type(tensor: *const Opaque) -> c_int;
    fn halfcast_tensor_element_count(tensor: *const Opaque) -> i64;
    fn halfcast_tensor_data(tensor: *const Opaque) -> *const c_void;
    fn halfcast_named_tensors_create(out: *mut *mut Opaque) -> Status;
    fn halfcast_named_tensors_add(set: *mut Opaque, name: *const c_char, tensor: *const Opaque)
        -> Status;
    fn halfcast_named_tensors_count(set: *const Opaque) -> usize;
    fn halfcast_named_tensors_name(set: *const Opaque, index: usize) -> *const c_char;
    fn halfcast_named_tensors_tensor(set: *const Opaque, index: usize) -> *const Opaque;
    fn halfcast_named_tensors_destroy(set: *mut Opaque);
    fn halfcast_feeds_create(out: *mut *mut Opaque) -> Status;
    fn halfcast_feeds_add(feeds: *mut Opaque, set: *const Opaque) -> Status;
    fn halfcast_feeds_destroy(feeds: *mut Opaque);
    fn halfcast_report_get(report: *const Opaque, value: c_int, out: *mut i64) -> Status;
    fn halfcast_report_destroy(report: *mut Opaque);
}

#[derive(Debug)]
pub struct Error {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

/// Turns a halfcast_status* into a Result, freeing the status.
fn check(status: Status) -> Result<(), Error> {
    if status.is_null() {
        return Ok(());
    }
    // SAFETY: a non-NULL status is valid until destroyed, which happens last.
    unsafe {
        let error = Error {
            code: halfcast_status_code_of(status),
            message: CStr::from_ptr(halfcast_status_message(status)).to_string_lossy().into(),
        };
        halfcast_status_destroy(status);
        Err(error)
    }
}

fn c_string(text: &str) -> Result<CString, Error> {
    CString::new(text).map_err(|_| Error { code: 3, message: "string holds a NUL byte".into() })
}

/// Declares an owning handle type whose Drop calls `$destroy` (which accepts NULL).
macro_rules! handle {
    ($name:ident, $destroy:ident) => {
        pub struct $name(*mut Opaque);
        impl Drop for $name {
            fn drop(&mut self) {
                // SAFETY: the pointer came from the library and is destroyed once.
                unsafe { $destroy(self.0) }
            }
        }
    };
}
handle!(Model, halfcast_model_destroy);
handle!(Report, halfcast_report_destroy);
handle!(Feeds, halfcast_feeds_destroy);
handle!(Tensor, halfcast_tensor_destroy);
handle!(NamedTensors, halfcast_named_tensors_destroy);
handle!(ConvertOptions, halfcast_convert_options_destroy);
handle!(MixedOptionsHandle, halfcast_mixed_precision_options_destroy);

/// Calls a `create(&mut out)` function of the C API.
fn create(f: unsafe extern "C" fn(*mut *mut Opaque) -> Status) -> Result<*mut Opaque, Error> {
    let mut out = ptr::null_mut();
    // SAFETY: `out` is a valid place for the new handle.
    check(unsafe { f(&mut out) })?;
    Ok(out)
}

pub fn version() -> String {
    // SAFETY: static storage, never NULL.
    unsafe { CStr::from_ptr(halfcast_version()).to_string_lossy().into() }
}

pub fn abi_version() -> i32 {
    unsafe { halfcast_abi_version() }
}

impl Model {
    pub fn load(path: &str) -> Result<Model, Error> {
        let path = c_string(path)?;
        let mut out = ptr::null_mut();
        check(unsafe { halfcast_model_load_file(path.as_ptr(), &mut out) })?;
        Ok(Model(out))
    }

    pub fn save(&self, path: &str) -> Result<(), Error> {
        let path = c_string(path)?;
        check(unsafe { halfcast_model_save(self.0, path.as_ptr(), ptr::null()) })
    }

    /// Whole-model conversion to float16, keeping float32 inputs and outputs if asked.
    pub fn to_float16(&self, keep_io_types: bool) -> Result<(Model, Report), Error> {
        let options = ConvertOptions(create(halfcast_convert_options_create)?);
        check(unsafe {
            halfcast_convert_options_set_bool(options.0, OPTION_KEEP_IO_TYPES, keep_io_types.into())
        })?;
        let (mut model, mut report) = (ptr::null_mut(), ptr::null_mut());
        check(unsafe {
            halfcast_convert_float_to_float16(self.0, options.0, &mut model, &mut report)
        })?;
        Ok((Model(model), Report(report)))
    }
}

impl Report {
    fn get(&self, value: c_int) -> i64 {
        let mut out = 0;
        check(unsafe { halfcast_report_get(self.0, value, &mut out) }).expect("known value");
        out
    }
    pub fn nodes_converted(&self) -> i64 {
        self.get(REPORT_NODES_CONVERTED)
    }
    pub fn nodes_kept(&self) -> i64 {
        self.get(REPORT_NODES_KEPT)
    }
    pub fn evaluations(&self) -> i64 {
        self.get(REPORT_EVALUATIONS)
    }
}

impl Feeds {
    /// One run's inputs: float32 tensors by name (copied).
    pub fn single(inputs: &[(&str, &[i64], &[f32])]) -> Result<Feeds, Error> {
        let set = NamedTensors(create(halfcast_named_tensors_create)?);
        for (name, dims, data) in inputs {
            let mut tensor = ptr::null_mut();
            check(unsafe {
                halfcast_tensor_create(
                    ELEMENT_FLOAT,
                    dims.as_ptr(),
                    dims.len(),
                    data.as_ptr().cast(),
                    std::mem::size_of_val(*data),
                    TENSOR_COPY,
                    &mut tensor,
                )
            })?;
            let tensor = Tensor(tensor);
            let name = c_string(name)?;
            check(unsafe { halfcast_named_tensors_add(set.0, name.as_ptr(), tensor.0) })?;
        }
        let feeds = Feeds(create(halfcast_feeds_create)?);
        check(unsafe { halfcast_feeds_add(feeds.0, set.0) })?;
        Ok(feeds)
    }
}

/// Outputs by name as float32 values (float16 outputs widened), borrowed for a callback.
pub struct Outputs<'a> {
    set: *const Opaque,
    _lifetime: PhantomData<&'a ()>,
}

impl Outputs<'_> {
    pub fn iter(&self) -> impl Iterator<Item = (String, Vec<f32>)> + '_ {
        (0..unsafe { halfcast_named_tensors_count(self.set) }).map(move |i| unsafe {
            let name = CStr::from_ptr(halfcast_named_tensors_name(self.set, i));
            let tensor = halfcast_named_tensors_tensor(self.set, i);
            (name.to_string_lossy().into(), to_f32(tensor))
        })
    }
    pub fn get(&self, name: &str) -> Option<Vec<f32>> {
        self.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

unsafe fn to_f32(tensor: *const Opaque) -> Vec<f32> {
    let count = halfcast_tensor_element_count(tensor) as usize;
    let data = halfcast_tensor_data(tensor);
    match halfcast_tensor_element_type(tensor) {
        ELEMENT_FLOAT => std::slice::from_raw_parts(data.cast::<f32>(), count).to_vec(),
        ELEMENT_FLOAT16 => std::slice::from_raw_parts(data.cast::<u16>(), count)
            .iter()
            .map(|&h| half_to_f32(h))
            .collect(),
        _ => Vec::new(),
    }
}

fn half_to_f32(h: u16) -> f32 {
    let (exponent, mantissa) = ((h >> 10) & 0x1f, (h & 0x3ff) as f32);
    let value = match exponent {
        0 => mantissa * 2f32.powi(-24),
        31 if mantissa == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        e => (mantissa + 1024.0) * 2f32.powi(e as i32 - 25),
    };
    if h & 0x8000 != 0 {
        -value
    } else {
        value
    }
}

type Validator<'a> = dyn FnMut(&Outputs, &Outputs) -> bool + 'a;

extern "C" fn validate_trampoline(
    reference: *const Opaque,
    candidate: *const Opaque,
    user_data: *mut c_void,
) -> c_int {
    // A panic must not unwind into C: it becomes the callback's error return (-1).
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: user_data is the &mut &mut Validator passed by auto_mixed_precision, alive for
        // the whole call.
        let validate = unsafe { &mut *(user_data as *mut &mut Validator) };
        let wrap = |set| Outputs { set, _lifetime: PhantomData };
        validate(&wrap(reference), &wrap(candidate)) as c_int
    }))
    .unwrap_or(-1)
}

/// Mixed precision judged by `validate(reference, candidate)`.
pub fn auto_mixed_precision(
    model: &Model,
    feeds: &Feeds,
    keep_io_types: bool,
    mut validate: impl FnMut(&Outputs, &Outputs) -> bool,
) -> Result<(Model, Report), Error> {
    let options = MixedOptionsHandle(create(halfcast_mixed_precision_options_create)?);
    let mut validate: &mut Validator = &mut validate;
    unsafe {
        check(halfcast_mixed_precision_options_set_bool(
            options.0,
            OPTION_KEEP_IO_TYPES,
            keep_io_types.into(),
        ))?;
        check(halfcast_mixed_precision_options_set_validate_callback(
            options.0,
            Some(validate_trampoline),
            (&mut validate as *mut &mut Validator).cast(),
        ))?;
    }
    let (mut out, mut report) = (ptr::null_mut(), ptr::null_mut());
    check(unsafe {
        halfcast_auto_convert_mixed_precision(model.0, feeds.0, options.0, &mut out, &mut report)
    })?;
    Ok((Model(out), Report(report)))
}
