//! Raw declarations of halfcast's C ABI, `capi/include/halfcast/halfcast_c.h`, for
//! libhalfcast_c (SONAME `libhalfcast_c.so.1`). Every item keeps its C name; the header's
//! comments are the reference for ownership, errors and threading. Use the `halfcast` crate for
//! a safe API.
//!
//! Enums are `c_int` type aliases with one constant per value: the header pins their values and
//! only ever appends, and the library may return a value this crate does not know yet.
//!
//! Linking: the build script takes libhalfcast_c from the folder `HALFCAST_LIB_DIR` names, else
//! from `pkg-config halfcast`.
//!
//! ```no_run
//! let abi = unsafe { halfcast_sys::halfcast_abi_version() };
//! assert_eq!(abi, halfcast_sys::HALFCAST_C_ABI_VERSION);
//! ```
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_void};

/// HALFCAST_C_ABI_VERSION: the ABI these declarations describe.
pub const HALFCAST_C_ABI_VERSION: c_int = 1;

macro_rules! opaque {
    ($($name:ident),* $(,)?) => {
        $(
            #[repr(C)]
            pub struct $name {
                _private: [u8; 0],
                // Neither Send, Sync nor Unpin: only the library knows what it is.
                _marker: std::marker::PhantomData<(*mut u8, std::marker::PhantomPinned)>,
            }
        )*
    };
}
opaque!(
    halfcast_status,
    halfcast_buffer,
    halfcast_model,
    halfcast_save_options,
    halfcast_tensor,
    halfcast_named_tensors,
    halfcast_feeds,
    halfcast_convert_options,
    halfcast_mixed_precision_options,
    halfcast_progress,
    halfcast_report,
);

macro_rules! c_enum {
    ($type:ident { $($name:ident = $value:expr),* $(,)? }) => {
        pub type $type = c_int;
        $(pub const $name: $type = $value;)*
    };
}

c_enum!(halfcast_status_code {
    HALFCAST_OK = 0,
    HALFCAST_CANCELLED = 1,
    HALFCAST_UNKNOWN = 2,
    HALFCAST_INVALID_ARGUMENT = 3,
    HALFCAST_DEADLINE_EXCEEDED = 4,
    HALFCAST_NOT_FOUND = 5,
    HALFCAST_ALREADY_EXISTS = 6,
    HALFCAST_PERMISSION_DENIED = 7,
    HALFCAST_RESOURCE_EXHAUSTED = 8,
    HALFCAST_FAILED_PRECONDITION = 9,
    HALFCAST_ABORTED = 10,
    HALFCAST_OUT_OF_RANGE = 11,
    HALFCAST_UNIMPLEMENTED = 12,
    HALFCAST_INTERNAL = 13,
    HALFCAST_UNAVAILABLE = 14,
    HALFCAST_DATA_LOSS = 15,
    HALFCAST_UNAUTHENTICATED = 16,
});

c_enum!(halfcast_log_level {
    HALFCAST_LOG_DEBUG = 0,
    HALFCAST_LOG_INFO = 1,
    HALFCAST_LOG_WARNING = 2,
    HALFCAST_LOG_ERROR = 3,
});

c_enum!(halfcast_element_type {
    HALFCAST_ELEMENT_UNDEFINED = 0,
    HALFCAST_ELEMENT_FLOAT = 1,
    HALFCAST_ELEMENT_UINT8 = 2,
    HALFCAST_ELEMENT_INT8 = 3,
    HALFCAST_ELEMENT_UINT16 = 4,
    HALFCAST_ELEMENT_INT16 = 5,
    HALFCAST_ELEMENT_INT32 = 6,
    HALFCAST_ELEMENT_INT64 = 7,
    HALFCAST_ELEMENT_BOOL = 9,
    HALFCAST_ELEMENT_FLOAT16 = 10,
    HALFCAST_ELEMENT_DOUBLE = 11,
    HALFCAST_ELEMENT_UINT32 = 12,
    HALFCAST_ELEMENT_UINT64 = 13,
    HALFCAST_ELEMENT_BFLOAT16 = 16,
});

c_enum!(halfcast_tensor_data_mode {
    HALFCAST_TENSOR_COPY = 0,
    HALFCAST_TENSOR_BORROW = 1,
});

c_enum!(halfcast_target {
    HALFCAST_TARGET_FLOAT16 = 0,
    HALFCAST_TARGET_BFLOAT16 = 1,
});

c_enum!(halfcast_search_strategy {
    HALFCAST_STRATEGY_ERROR_GUIDED = 0,
    HALFCAST_STRATEGY_BISECT = 1,
});

c_enum!(halfcast_option {
    HALFCAST_OPTION_MIN_POSITIVE_VAL = 0,
    HALFCAST_OPTION_MAX_FINITE_VAL = 1,
    HALFCAST_OPTION_KEEP_IO_TYPES = 2,
    HALFCAST_OPTION_KEEP_IO_NAMES = 3,
    HALFCAST_OPTION_DISABLE_SHAPE_INFER = 4,
    HALFCAST_OPTION_OP_BLOCK_LIST = 5,
    HALFCAST_OPTION_NODE_BLOCK_LIST = 6,
    HALFCAST_OPTION_NODE_INDEX_BLOCK_LIST = 7,
    HALFCAST_OPTION_CHECK_FP16_READY = 8,
    HALFCAST_OPTION_TARGET = 9,
    HALFCAST_OPTION_RTOL = 10,
    HALFCAST_OPTION_ATOL = 11,
    HALFCAST_OPTION_STRATEGY = 12,
    HALFCAST_OPTION_MAX_EVALUATIONS = 13,
    HALFCAST_OPTION_FP16_OPS = 14,
    HALFCAST_OPTION_TIME_LIMIT = 15,
    HALFCAST_OPTION_SAFETY_MARGIN = 16,
    HALFCAST_OPTION_MAX_RETAINED_BYTES = 17,
    HALFCAST_OPTION_OP_INCLUDE_LIST = 18,
    HALFCAST_OPTION_NODE_INCLUDE_LIST = 19,
    HALFCAST_OPTION_STRICT_LISTS = 20,
    HALFCAST_OPTION_KEEP_BEST = 21,
    HALFCAST_OPTION_CHECK_ORT_CPU = 22,
});

c_enum!(halfcast_segment_state {
    HALFCAST_SEGMENT_UNTRIED = 0,
    HALFCAST_SEGMENT_GOOD = 1,
    HALFCAST_SEGMENT_BAD = 2,
});

c_enum!(halfcast_report_value {
    HALFCAST_REPORT_NODES_CONVERTED = 0,
    HALFCAST_REPORT_NODES_KEPT = 1,
    HALFCAST_REPORT_CASTS_INSERTED = 2,
    HALFCAST_REPORT_CASTS_REMOVED = 3,
    HALFCAST_REPORT_INITIALIZERS_CONVERTED = 4,
    HALFCAST_REPORT_VALUES_CLIPPED = 5,
    HALFCAST_REPORT_BYTES_BEFORE = 6,
    HALFCAST_REPORT_BYTES_AFTER = 7,
    HALFCAST_REPORT_EVALUATIONS = 8,
    HALFCAST_REPORT_FLOAT32_INPUTS = 9,
    HALFCAST_REPORT_MATMUL_FLOPS_TOTAL = 10,
    HALFCAST_REPORT_MATMUL_FLOPS_16BIT = 11,
    HALFCAST_REPORT_PEAK_RETAINED_BYTES = 12,
    HALFCAST_REPORT_UNMATCHED = 13,
    HALFCAST_REPORT_VALIDATED = 14,
    HALFCAST_REPORT_STOPPED_EARLY = 15,
});

/// Receives the library's messages; `message` is borrowed for the call.
pub type halfcast_log_fn = Option<
    unsafe extern "C" fn(level: halfcast_log_level, message: *const c_char, user_data: *mut c_void),
>;
/// Returns 1 (accept), 0 (reject) or a negative value (error: the search stops, ABORTED).
pub type halfcast_validate_fn = Option<
    unsafe extern "C" fn(
        reference: *const halfcast_named_tensors,
        candidate: *const halfcast_named_tensors,
        user_data: *mut c_void,
    ) -> c_int,
>;
/// Runs a model in the caller's runtime; returns NULL or a status from halfcast_status_create.
pub type halfcast_evaluator_fn = Option<
    unsafe extern "C" fn(
        model_bytes: *const c_void,
        model_size: usize,
        feeds: *const halfcast_named_tensors,
        outputs: *mut halfcast_named_tensors,
        user_data: *mut c_void,
    ) -> *mut halfcast_status,
>;
/// Called after each attempt; a non-zero return cancels the search (CANCELLED).
pub type halfcast_progress_fn = Option<
    unsafe extern "C" fn(progress: *const halfcast_progress, user_data: *mut c_void) -> c_int,
>;

extern "C" {
    // Versions
    pub fn halfcast_version() -> *const c_char;
    pub fn halfcast_abi_version() -> c_int;

    // Status
    pub fn halfcast_status_create(
        code: halfcast_status_code,
        message: *const c_char,
    ) -> *mut halfcast_status;
    pub fn halfcast_status_code_of(status: *const halfcast_status) -> halfcast_status_code;
    pub fn halfcast_status_message(status: *const halfcast_status) -> *const c_char;
    pub fn halfcast_status_code_name(code: halfcast_status_code) -> *const c_char;
    pub fn halfcast_status_destroy(status: *mut halfcast_status);

    // Buffers
    pub fn halfcast_buffer_data(buffer: *const halfcast_buffer) -> *const c_void;
    pub fn halfcast_buffer_size(buffer: *const halfcast_buffer) -> usize;
    pub fn halfcast_buffer_destroy(buffer: *mut halfcast_buffer);

    // Models
    pub fn halfcast_model_load_file(
        path: *const c_char,
        out_model: *mut *mut halfcast_model,
    ) -> *mut halfcast_status;
    pub fn halfcast_model_load_bytes(
        data: *const c_void,
        size: usize,
        out_model: *mut *mut halfcast_model,
    ) -> *mut halfcast_status;
    pub fn halfcast_save_options_create(
        out: *mut *mut halfcast_save_options,
    ) -> *mut halfcast_status;
    pub fn halfcast_save_options_destroy(options: *mut halfcast_save_options);
    pub fn halfcast_save_options_set_external_data(
        options: *mut halfcast_save_options,
        external_data: c_int,
        threshold_bytes: i64,
        file_name: *const c_char,
    ) -> *mut halfcast_status;
    pub fn halfcast_model_save(
        model: *const halfcast_model,
        path: *const c_char,
        options: *const halfcast_save_options,
    ) -> *mut halfcast_status;
    pub fn halfcast_model_serialize(
        model: *const halfcast_model,
        out_buffer: *mut *mut halfcast_buffer,
    ) -> *mut halfcast_status;
    pub fn halfcast_model_destroy(model: *mut halfcast_model);

    // Tensors
    pub fn halfcast_tensor_create(
        element_type: halfcast_element_type,
        dims: *const i64,
        rank: usize,
        data: *const c_void,
        data_size: usize,
        mode: halfcast_tensor_data_mode,
        out_tensor: *mut *mut halfcast_tensor,
    ) -> *mut halfcast_status;
    pub fn halfcast_tensor_destroy(tensor: *mut halfcast_tensor);
    pub fn halfcast_tensor_element_type(tensor: *const halfcast_tensor) -> halfcast_element_type;
    pub fn halfcast_tensor_rank(tensor: *const halfcast_tensor) -> usize;
    pub fn halfcast_tensor_dims(tensor: *const halfcast_tensor) -> *const i64;
    pub fn halfcast_tensor_element_count(tensor: *const halfcast_tensor) -> i64;
    pub fn halfcast_tensor_data(tensor: *const halfcast_tensor) -> *const c_void;
    pub fn halfcast_tensor_byte_size(tensor: *const halfcast_tensor) -> usize;

    // Named tensors and feeds
    pub fn halfcast_named_tensors_create(
        out: *mut *mut halfcast_named_tensors,
    ) -> *mut halfcast_status;
    pub fn halfcast_named_tensors_destroy(set: *mut halfcast_named_tensors);
    pub fn halfcast_named_tensors_add(
        set: *mut halfcast_named_tensors,
        name: *const c_char,
        tensor: *const halfcast_tensor,
    ) -> *mut halfcast_status;
    pub fn halfcast_named_tensors_count(set: *const halfcast_named_tensors) -> usize;
    pub fn halfcast_named_tensors_name(
        set: *const halfcast_named_tensors,
        index: usize,
    ) -> *const c_char;
    pub fn halfcast_named_tensors_tensor(
        set: *const halfcast_named_tensors,
        index: usize,
    ) -> *const halfcast_tensor;
    pub fn halfcast_named_tensors_find(
        set: *const halfcast_named_tensors,
        name: *const c_char,
    ) -> *const halfcast_tensor;
    pub fn halfcast_feeds_create(out: *mut *mut halfcast_feeds) -> *mut halfcast_status;
    pub fn halfcast_feeds_destroy(feeds: *mut halfcast_feeds);
    pub fn halfcast_feeds_add(
        feeds: *mut halfcast_feeds,
        set: *const halfcast_named_tensors,
    ) -> *mut halfcast_status;
    pub fn halfcast_feeds_count(feeds: *const halfcast_feeds) -> usize;

    // Options
    pub fn halfcast_option_name(option: halfcast_option) -> *const c_char;
    pub fn halfcast_convert_options_create(
        out: *mut *mut halfcast_convert_options,
    ) -> *mut halfcast_status;
    pub fn halfcast_convert_options_destroy(options: *mut halfcast_convert_options);
    pub fn halfcast_convert_options_set_bool(
        options: *mut halfcast_convert_options,
        option: halfcast_option,
        value: c_int,
    ) -> *mut halfcast_status;
    pub fn halfcast_convert_options_set_int(
        options: *mut halfcast_convert_options,
        option: halfcast_option,
        value: i64,
    ) -> *mut halfcast_status;
    pub fn halfcast_convert_options_set_double(
        options: *mut halfcast_convert_options,
        option: halfcast_option,
        value: f64,
    ) -> *mut halfcast_status;
    pub fn halfcast_convert_options_set_strings(
        options: *mut halfcast_convert_options,
        option: halfcast_option,
        values: *const *const c_char,
        count: usize,
    ) -> *mut halfcast_status;
    pub fn halfcast_convert_options_set_ints(
        options: *mut halfcast_convert_options,
        option: halfcast_option,
        values: *const i64,
        count: usize,
    ) -> *mut halfcast_status;
    pub fn halfcast_convert_options_set_log_callback(
        options: *mut halfcast_convert_options,
        fn_: halfcast_log_fn,
        user_data: *mut c_void,
    ) -> *mut halfcast_status;

    pub fn halfcast_mixed_precision_options_create(
        out: *mut *mut halfcast_mixed_precision_options,
    ) -> *mut halfcast_status;
    pub fn halfcast_mixed_precision_options_destroy(options: *mut halfcast_mixed_precision_options);
    pub fn halfcast_mixed_precision_options_set_bool(
        options: *mut halfcast_mixed_precision_options,
        option: halfcast_option,
        value: c_int,
    ) -> *mut halfcast_status;
    pub fn halfcast_mixed_precision_options_set_int(
        options: *mut halfcast_mixed_precision_options,
        option: halfcast_option,
        value: i64,
    ) -> *mut halfcast_status;
    pub fn halfcast_mixed_precision_options_set_double(
        options: *mut halfcast_mixed_precision_options,
        option: halfcast_option,
        value: f64,
    ) -> *mut halfcast_status;
    pub fn halfcast_mixed_precision_options_set_strings(
        options: *mut halfcast_mixed_precision_options,
        option: halfcast_option,
        values: *const *const c_char,
        count: usize,
    ) -> *mut halfcast_status;
    pub fn halfcast_mixed_precision_options_set_log_callback(
        options: *mut halfcast_mixed_precision_options,
        fn_: halfcast_log_fn,
        user_data: *mut c_void,
    ) -> *mut halfcast_status;
    pub fn halfcast_mixed_precision_options_set_validate_callback(
        options: *mut halfcast_mixed_precision_options,
        fn_: halfcast_validate_fn,
        user_data: *mut c_void,
    ) -> *mut halfcast_status;
    pub fn halfcast_mixed_precision_options_set_evaluator_callback(
        options: *mut halfcast_mixed_precision_options,
        fn_: halfcast_evaluator_fn,
        user_data: *mut c_void,
    ) -> *mut halfcast_status;
    pub fn halfcast_mixed_precision_options_set_progress_callback(
        options: *mut halfcast_mixed_precision_options,
        fn_: halfcast_progress_fn,
        user_data: *mut c_void,
    ) -> *mut halfcast_status;

    // Progress
    pub fn halfcast_progress_evaluations(progress: *const halfcast_progress) -> i64;
    pub fn halfcast_progress_elapsed_seconds(progress: *const halfcast_progress) -> f64;
    pub fn halfcast_progress_segment_count(progress: *const halfcast_progress) -> usize;
    pub fn halfcast_progress_segment(
        progress: *const halfcast_progress,
        index: usize,
        begin: *mut usize,
        size: *mut usize,
        state: *mut halfcast_segment_state,
    ) -> c_int;
    pub fn halfcast_progress_text(progress: *const halfcast_progress) -> *const c_char;

    // Reports
    pub fn halfcast_report_get(
        report: *const halfcast_report,
        value: halfcast_report_value,
        out: *mut i64,
    ) -> *mut halfcast_status;
    pub fn halfcast_report_kept_node(
        report: *const halfcast_report,
        index: usize,
        graph: *mut *const c_char,
        name: *mut *const c_char,
        op_type: *mut *const c_char,
        reason: *mut *const c_char,
        detail: *mut *const c_char,
    ) -> *mut halfcast_status;
    pub fn halfcast_report_unmatched(
        report: *const halfcast_report,
        index: usize,
        list: *mut *const c_char,
        entry: *mut *const c_char,
    ) -> *mut halfcast_status;
    pub fn halfcast_report_stop_reason(report: *const halfcast_report) -> *const c_char;
    pub fn halfcast_report_to_json(
        report: *const halfcast_report,
        out_json: *mut *mut halfcast_buffer,
    ) -> *mut halfcast_status;
    pub fn halfcast_report_destroy(report: *mut halfcast_report);

    // Conversions
    pub fn halfcast_convert_float_to_float16(
        model: *const halfcast_model,
        options: *const halfcast_convert_options,
        out_model: *mut *mut halfcast_model,
        out_report: *mut *mut halfcast_report,
    ) -> *mut halfcast_status;
    pub fn halfcast_convert_file(
        input_path: *const c_char,
        output_path: *const c_char,
        options: *const halfcast_convert_options,
        save_options: *const halfcast_save_options,
        out_report: *mut *mut halfcast_report,
    ) -> *mut halfcast_status;
    pub fn halfcast_auto_convert_mixed_precision(
        model: *const halfcast_model,
        feeds: *const halfcast_feeds,
        options: *const halfcast_mixed_precision_options,
        out_model: *mut *mut halfcast_model,
        out_report: *mut *mut halfcast_report,
    ) -> *mut halfcast_status;
    pub fn halfcast_auto_convert_mixed_precision_file(
        input_path: *const c_char,
        output_path: *const c_char,
        feeds: *const halfcast_feeds,
        options: *const halfcast_mixed_precision_options,
        save_options: *const halfcast_save_options,
        out_report: *mut *mut halfcast_report,
    ) -> *mut halfcast_status;
}
