package halfcast

/*
#include "halfcast/halfcast_c.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// ReportValue is a counter of a Report (halfcast_report_value).
type ReportValue int

// The report counters.
const (
	ReportNodesConverted        ReportValue = C.HALFCAST_REPORT_NODES_CONVERTED
	ReportNodesKept             ReportValue = C.HALFCAST_REPORT_NODES_KEPT
	ReportCastsInserted         ReportValue = C.HALFCAST_REPORT_CASTS_INSERTED
	ReportCastsRemoved          ReportValue = C.HALFCAST_REPORT_CASTS_REMOVED
	ReportInitializersConverted ReportValue = C.HALFCAST_REPORT_INITIALIZERS_CONVERTED
	ReportValuesClipped         ReportValue = C.HALFCAST_REPORT_VALUES_CLIPPED
	ReportBytesBefore           ReportValue = C.HALFCAST_REPORT_BYTES_BEFORE
	ReportBytesAfter            ReportValue = C.HALFCAST_REPORT_BYTES_AFTER
	ReportEvaluations           ReportValue = C.HALFCAST_REPORT_EVALUATIONS
	ReportFloat32Inputs         ReportValue = C.HALFCAST_REPORT_FLOAT32_INPUTS
	ReportMatmulFlopsTotal      ReportValue = C.HALFCAST_REPORT_MATMUL_FLOPS_TOTAL
	ReportMatmulFlops16Bit      ReportValue = C.HALFCAST_REPORT_MATMUL_FLOPS_16BIT
	ReportPeakRetainedBytes     ReportValue = C.HALFCAST_REPORT_PEAK_RETAINED_BYTES
	ReportUnmatched             ReportValue = C.HALFCAST_REPORT_UNMATCHED
	ReportValidated             ReportValue = C.HALFCAST_REPORT_VALIDATED
	ReportStoppedEarly          ReportValue = C.HALFCAST_REPORT_STOPPED_EARLY
)

// KeptNode is a node the conversion kept in float32, and why.
type KeptNode struct {
	Graph  string // "" for the main graph, else the path of subgraph attributes
	Name   string
	OpType string
	Reason string // "op_block_list", "node_block_list", "schema", "model_function", "search", "unknown_op"
	Detail string
}

// Report says what a conversion or a mixed-precision search did.
type Report struct{ ptr *C.halfcast_report }

func newReport(ptr *C.halfcast_report) *Report {
	r := &Report{ptr}
	runtime.SetFinalizer(r, (*Report).Close)
	return r
}

// Get is one counter; an unknown value is InvalidArgument.
func (r *Report) Get(value ReportValue) (int64, error) {
	defer runtime.KeepAlive(r)
	var out C.int64_t
	err := check(C.halfcast_report_get(r.ptr, C.halfcast_report_value(value), &out))
	return int64(out), err
}

// value is a counter this package knows, which the library of its ABI always has.
func (r *Report) value(value ReportValue) int64 {
	v, _ := r.Get(value)
	return v
}

// NodesConverted is the number of nodes computing in 16 bits.
func (r *Report) NodesConverted() int64 { return r.value(ReportNodesConverted) }

// NodesKept is the number of nodes computing in float32 (see KeptNodes).
func (r *Report) NodesKept() int64 { return r.value(ReportNodesKept) }

// Evaluations is the number of model runs of a mixed-precision search (0 otherwise).
func (r *Report) Evaluations() int64 { return r.value(ReportEvaluations) }

// KeptNodes are the nodes kept in float32, in report order.
func (r *Report) KeptNodes() ([]KeptNode, error) {
	defer runtime.KeepAlive(r)
	count := int(r.NodesKept())
	nodes := make([]KeptNode, 0, count)
	for i := 0; i < count; i++ {
		var graph, name, opType, reason, detail *C.char
		if err := check(C.halfcast_report_kept_node(r.ptr, C.size_t(i), &graph, &name, &opType,
			&reason, &detail)); err != nil {
			return nil, err
		}
		nodes = append(nodes, KeptNode{C.GoString(graph), C.GoString(name), C.GoString(opType),
			C.GoString(reason), C.GoString(detail)})
	}
	return nodes, nil
}

// JSON is the whole report as a JSON object (a mixed-precision report nests the conversion's
// under "conversion").
func (r *Report) JSON() ([]byte, error) {
	defer runtime.KeepAlive(r)
	var buffer *C.halfcast_buffer
	if err := check(C.halfcast_report_to_json(r.ptr, &buffer)); err != nil {
		return nil, err
	}
	return takeBuffer(buffer), nil
}

// Close frees the report; further calls do nothing.
func (r *Report) Close() {
	if r == nil {
		return
	}
	C.halfcast_report_destroy(r.ptr)
	r.ptr = nil
	runtime.SetFinalizer(r, nil)
}

// takeBuffer copies a library-owned buffer's bytes and destroys it.
func takeBuffer(buffer *C.halfcast_buffer) []byte {
	defer C.halfcast_buffer_destroy(buffer)
	return C.GoBytes(unsafe.Pointer(C.halfcast_buffer_data(buffer)), C.int(C.halfcast_buffer_size(buffer)))
}
