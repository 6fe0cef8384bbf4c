//! Models, and the conversions between them.
use std::ffi::CString;
use std::path::Path;
use std::ptr::{self, NonNull};

use halfcast_sys as sys;

use crate::error::{check, ensure_abi, Code, Error, Result};
use crate::options::{ConvertOptions, MixedPrecisionOptions, SaveOptions};
use crate::report::{take_buffer, Report};
use crate::tensor::Feeds;

/// An ONNX model held by the library.
pub struct Model {
    ptr: NonNull<sys::halfcast_model>,
}

// SAFETY: a model is never modified once created, and the C API lets threads share const
// handles; each conversion reads it only.
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

/// A converted model and the report of its conversion.
pub struct Conversion {
    pub model: Model,
    pub report: Report,
}

/// The path as the library's C string (bytes as they are on Unix).
fn path_string(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec();
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().into_owned().into_bytes();
    CString::new(bytes).map_err(|_| {
        Error::new(Code::InvalidArgument, format!("path holds a NUL byte: {}", path.display()))
    })
}

impl Model {
    /// # Safety
    /// `ptr` is a model the library returned, owned by the caller.
    unsafe fn from_raw(ptr: *mut sys::halfcast_model) -> Model {
        Model { ptr: NonNull::new(ptr).expect("the library gave no model") }
    }

    /// Loads a model file; external data is read relative to its folder. Errors: NOT_FOUND,
    /// INVALID_ARGUMENT (not an ONNX model, bad external data).
    ///
    /// ```no_run
    /// let model = halfcast::Model::load("model.onnx")?;
    /// # Ok::<(), halfcast::Error>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        ensure_abi()?;
        let path = path_string(path.as_ref())?;
        let mut out = ptr::null_mut();
        // SAFETY: valid C string and out place.
        unsafe {
            check(sys::halfcast_model_load_file(path.as_ptr(), &mut out))?;
            Ok(Model::from_raw(out))
        }
    }

    /// Parses a self-contained model from its serialized bytes (copied).
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        ensure_abi()?;
        let mut out = ptr::null_mut();
        // SAFETY: bytes are valid for their length and copied.
        unsafe {
            check(sys::halfcast_model_load_bytes(bytes.as_ptr().cast(), bytes.len(), &mut out))?;
            Ok(Model::from_raw(out))
        }
    }

    /// Writes the model to `path` as one file, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_impl(path.as_ref(), None)
    }

    /// Writes the model to `path` atomically, as `options` say (external data).
    pub fn save_with(&self, path: impl AsRef<Path>, options: &SaveOptions) -> Result<()> {
        self.save_impl(path.as_ref(), Some(options))
    }

    fn save_impl(&self, path: &Path, options: Option<&SaveOptions>) -> Result<()> {
        let path = path_string(path)?;
        let options = options.map_or(ptr::null(), |o| o.as_ptr());
        // SAFETY: live handles, valid C string.
        unsafe { check(sys::halfcast_model_save(self.ptr.as_ptr(), path.as_ptr(), options)) }
    }

    /// The serialized model (self-contained models only).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut buffer = ptr::null_mut();
        // SAFETY: live handle; the buffer is ours.
        unsafe {
            check(sys::halfcast_model_serialize(self.ptr.as_ptr(), &mut buffer))?;
            Ok(take_buffer(buffer))
        }
    }

    /// Converts the whole model with the default options (onnxconverter-common's).
    pub fn to_float16(&self) -> Result<Conversion> {
        self.convert_impl(None)
    }

    /// Converts the model as onnxconverter-common's convert_float_to_float16 does. Errors:
    /// INVALID_ARGUMENT (bad options, malformed model), FAILED_PRECONDITION (the model already
    /// holds float16 and CHECK_FP16_READY is set).
    ///
    /// ```
    /// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../tests/data/models/silero_vad.onnx");
    /// let model = halfcast::Model::load(path)?;
    /// let mut options = halfcast::ConvertOptions::new()?;
    /// options.keep_io_types(true)?;
    /// let converted = model.convert(&options)?;
    /// assert!(converted.report.nodes_converted() > 0);
    /// # Ok::<(), halfcast::Error>(())
    /// ```
    pub fn convert(&self, options: &ConvertOptions<'_>) -> Result<Conversion> {
        let result = self.convert_impl(Some(options));
        options.resume_panic();
        result
    }

    fn convert_impl(&self, options: Option<&ConvertOptions<'_>>) -> Result<Conversion> {
        let options = options.map_or(ptr::null(), |o| o.as_ptr());
        let (mut model, mut report) = (ptr::null_mut(), ptr::null_mut());
        // SAFETY: live handles; on success both outputs are ours.
        unsafe {
            check(sys::halfcast_convert_float_to_float16(
                self.ptr.as_ptr(),
                options,
                &mut model,
                &mut report,
            ))?;
            Ok(Conversion { model: Model::from_raw(model), report: Report::from_raw(report) })
        }
    }

    /// Finds the fewest float32 nodes that keep the model accurate on `feeds`, as
    /// onnxconverter-common's auto_convert_mixed_precision does. `options` must set a tolerance
    /// or a validate closure. Errors: INVALID_ARGUMENT (no tolerance, feeds missing an input),
    /// FAILED_PRECONDITION (nothing validates), CANCELLED (the progress closure said stop),
    /// ABORTED, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED. A panic in a closure is resumed here.
    ///
    /// ```
    /// # let path = concat!(env!("CARGO_MANIFEST_DIR"),
    /// #                    "/../../../tests/data/models/ch_ppocr_mobile_v2.0_cls_infer.onnx");
    /// use halfcast::{Feeds, MixedPrecisionOptions, Model, NamedTensors, Tensor};
    /// let model = Model::load(path)?;
    /// let x: Vec<f32> = (0..3 * 48 * 192).map(|i| (i as f32 * 0.001).sin()).collect();
    /// let mut inputs = NamedTensors::new()?;
    /// inputs.insert("x", &Tensor::from_slice(&[1, 3, 48, 192], &x)?)?;
    /// let mut options = MixedPrecisionOptions::new()?;
    /// options.keep_io_types(true)?.on_validate(|reference, candidate| {
    ///     reference.iter().all(|(name, want)| {
    ///         let (want, got) = (want.to_f32().unwrap(), candidate.get(&name).unwrap().to_f32().unwrap());
    ///         want.iter().zip(&got).all(|(w, g)| (w - g).abs() <= 0.01)
    ///     })
    /// })?;
    /// let mixed = model.auto_mixed_precision(&Feeds::single(&inputs)?, &options)?;
    /// println!("{} nodes kept in float32", mixed.report.nodes_kept());
    /// # Ok::<(), halfcast::Error>(())
    /// ```
    pub fn auto_mixed_precision(
        &self,
        feeds: &Feeds,
        options: &MixedPrecisionOptions<'_>,
    ) -> Result<Conversion> {
        let (mut model, mut report) = (ptr::null_mut(), ptr::null_mut());
        // SAFETY: live handles; on success both outputs are ours.
        let result = unsafe {
            check(sys::halfcast_auto_convert_mixed_precision(
                self.ptr.as_ptr(),
                feeds.as_ptr(),
                options.as_ptr(),
                &mut model,
                &mut report,
            ))
            .map(|()| Conversion {
                model: Model::from_raw(model),
                report: Report::from_raw(report),
            })
        };
        options.resume_panic();
        result
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: owned, destroyed once.
        unsafe { sys::halfcast_model_destroy(self.ptr.as_ptr()) }
    }
}

/// Converts the model file `input` to `output` (written atomically), streaming external data:
/// for models with external data or over 2 GB. None options are the defaults.
pub fn convert_file(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    options: Option<&ConvertOptions<'_>>,
    save_options: Option<&SaveOptions>,
) -> Result<Report> {
    ensure_abi()?;
    let (input, output) = (path_string(input.as_ref())?, path_string(output.as_ref())?);
    let mut report = ptr::null_mut();
    // SAFETY: valid C strings, live or NULL handles; on success the report is ours.
    let result = unsafe {
        let status = sys::halfcast_convert_file(
            input.as_ptr(),
            output.as_ptr(),
            options.map_or(ptr::null(), |o| o.as_ptr()),
            save_options.map_or(ptr::null(), |o| o.as_ptr()),
            &mut report,
        );
        report_of(status, report)
    };
    if let Some(options) = options {
        options.resume_panic();
    }
    result
}

/// The report a file function gave, if `status` says it succeeded.
///
/// # Safety
/// As for `check`; on success `report` is a report owned by the caller.
unsafe fn report_of(
    status: *mut sys::halfcast_status,
    report: *mut sys::halfcast_report,
) -> Result<Report> {
    check(status).map(|()| Report::from_raw(report))
}

/// [`Model::auto_mixed_precision`] from a file to a file (written atomically), for models
/// with external data.
pub fn auto_mixed_precision_file(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    feeds: &Feeds,
    options: &MixedPrecisionOptions<'_>,
    save_options: Option<&SaveOptions>,
) -> Result<Report> {
    ensure_abi()?;
    let (input, output) = (path_string(input.as_ref())?, path_string(output.as_ref())?);
    let mut report = ptr::null_mut();
    // SAFETY: as in convert_file.
    let result = unsafe {
        let status = sys::halfcast_auto_convert_mixed_precision_file(
            input.as_ptr(),
            output.as_ptr(),
            feeds.as_ptr(),
            options.as_ptr(),
            save_options.map_or(ptr::null(), |o| o.as_ptr()),
            &mut report,
        );
        report_of(status, report)
    };
    options.resume_panic();
    result
}
