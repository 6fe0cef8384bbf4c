//! What a conversion did.
use std::ptr::{self, NonNull};

use halfcast_sys as sys;

use crate::error::{borrowed_string, check, Result};

/// A counter of a [`Report`] (`halfcast_report_value`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReportValue {
    NodesConverted,
    /// Nodes computing in float32 (see [`Report::kept_nodes`]).
    NodesKept,
    CastsInserted,
    CastsRemoved,
    InitializersConverted,
    /// Over all tensors, raised to min plus lowered to max.
    ValuesClipped,
    /// Tensor bytes of initializers and constants.
    BytesBefore,
    BytesAfter,
    /// Model runs of a mixed-precision search; 0 otherwise.
    Evaluations,
    /// Inputs of converted nodes kept float32 by their schema.
    Float32Inputs,
    MatmulFlopsTotal,
    MatmulFlops16bit,
    /// The most bytes of values a mixed-precision search kept between evaluations.
    PeakRetainedBytes,
    /// Selection-list entries that matched no node.
    Unmatched,
    /// 1 if the model validated on every feed set (0 only for a keep-best candidate).
    Validated,
    /// 1 if a limit stopped the search and keep-best returned the best so far.
    StoppedEarly,
}

impl ReportValue {
    fn raw(self) -> sys::halfcast_report_value {
        match self {
            ReportValue::NodesConverted => sys::HALFCAST_REPORT_NODES_CONVERTED,
            ReportValue::NodesKept => sys::HALFCAST_REPORT_NODES_KEPT,
            ReportValue::CastsInserted => sys::HALFCAST_REPORT_CASTS_INSERTED,
            ReportValue::CastsRemoved => sys::HALFCAST_REPORT_CASTS_REMOVED,
            ReportValue::InitializersConverted => sys::HALFCAST_REPORT_INITIALIZERS_CONVERTED,
            ReportValue::ValuesClipped => sys::HALFCAST_REPORT_VALUES_CLIPPED,
            ReportValue::BytesBefore => sys::HALFCAST_REPORT_BYTES_BEFORE,
            ReportValue::BytesAfter => sys::HALFCAST_REPORT_BYTES_AFTER,
            ReportValue::Evaluations => sys::HALFCAST_REPORT_EVALUATIONS,
            ReportValue::Float32Inputs => sys::HALFCAST_REPORT_FLOAT32_INPUTS,
            ReportValue::MatmulFlopsTotal => sys::HALFCAST_REPORT_MATMUL_FLOPS_TOTAL,
            ReportValue::MatmulFlops16bit => sys::HALFCAST_REPORT_MATMUL_FLOPS_16BIT,
            ReportValue::PeakRetainedBytes => sys::HALFCAST_REPORT_PEAK_RETAINED_BYTES,
            ReportValue::Unmatched => sys::HALFCAST_REPORT_UNMATCHED,
            ReportValue::Validated => sys::HALFCAST_REPORT_VALIDATED,
            ReportValue::StoppedEarly => sys::HALFCAST_REPORT_STOPPED_EARLY,
        }
    }
}

/// A node the conversion kept in float32, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptNode {
    /// "" for the main graph, else the path of subgraph attributes.
    pub graph: String,
    pub name: String,
    pub op_type: String,
    /// "op_block_list", "node_block_list", "schema", "model_function", "search", "unknown_op".
    pub reason: String,
    pub detail: String,
}

/// What a conversion or a mixed-precision search did.
pub struct Report {
    ptr: NonNull<sys::halfcast_report>,
}

// SAFETY: a report is immutable; the C API lets threads share const handles.
unsafe impl Send for Report {}
unsafe impl Sync for Report {}

impl Report {
    /// # Safety
    /// `ptr` is a report the library returned, owned by the caller.
    pub(crate) unsafe fn from_raw(ptr: *mut sys::halfcast_report) -> Report {
        Report { ptr: NonNull::new(ptr).expect("the library gave no report") }
    }

    /// One counter.
    pub fn get(&self, value: ReportValue) -> i64 {
        let mut out = 0;
        // SAFETY: live handle; every ReportValue is known to the library of this ABI.
        unsafe { check(sys::halfcast_report_get(self.ptr.as_ptr(), value.raw(), &mut out)) }
            .expect("a report value of this ABI");
        out
    }

    pub fn nodes_converted(&self) -> i64 {
        self.get(ReportValue::NodesConverted)
    }

    pub fn nodes_kept(&self) -> i64 {
        self.get(ReportValue::NodesKept)
    }

    pub fn evaluations(&self) -> i64 {
        self.get(ReportValue::Evaluations)
    }

    /// The nodes kept in float32, in report order.
    pub fn kept_nodes(&self) -> Result<Vec<KeptNode>> {
        let count = usize::try_from(self.nodes_kept()).unwrap_or(0);
        (0..count)
            .map(|index| {
                let mut fields = [ptr::null(); 5];
                let [graph, name, op_type, reason, detail] = &mut fields;
                // SAFETY: live handle; the strings are borrowed from it and copied at once.
                unsafe {
                    check(sys::halfcast_report_kept_node(
                        self.ptr.as_ptr(),
                        index,
                        graph,
                        name,
                        op_type,
                        reason,
                        detail,
                    ))?;
                    let [graph, name, op_type, reason, detail] = fields.map(|f| borrowed_string(f));
                    Ok(KeptNode { graph, name, op_type, reason, detail })
                }
            })
            .collect()
    }

    /// The whole report as a JSON object (a mixed-precision report nests the conversion's
    /// under "conversion").
    pub fn to_json(&self) -> Result<String> {
        let mut buffer = ptr::null_mut();
        // SAFETY: live handle; the buffer is ours.
        let bytes = unsafe {
            check(sys::halfcast_report_to_json(self.ptr.as_ptr(), &mut buffer))?;
            take_buffer(buffer)
        };
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        // SAFETY: owned, destroyed once.
        unsafe { sys::halfcast_report_destroy(self.ptr.as_ptr()) }
    }
}

/// Copies a library-owned buffer's bytes and destroys it.
///
/// # Safety
/// `buffer` is a live buffer owned by the caller.
pub(crate) unsafe fn take_buffer(buffer: *mut sys::halfcast_buffer) -> Vec<u8> {
    let size = sys::halfcast_buffer_size(buffer);
    let bytes = if size == 0 {
        Vec::new()
    } else {
        std::slice::from_raw_parts(sys::halfcast_buffer_data(buffer).cast::<u8>(), size).to_vec()
    };
    sys::halfcast_buffer_destroy(buffer);
    bytes
}
