// What a conversion did.
using System;
using System.Collections.Generic;

namespace Halfcast {

/// <summary>A counter of a Report (halfcast_report_value).</summary>
public enum ReportValue {
  NodesConverted = 0,
  /// <summary>Nodes computing in float32 (see Report.KeptNodes).</summary>
  NodesKept = 1,
  CastsInserted = 2,
  CastsRemoved = 3,
  InitializersConverted = 4,
  /// <summary>Over all tensors, raised to min plus lowered to max.</summary>
  ValuesClipped = 5,
  /// <summary>Tensor bytes of initializers and constants.</summary>
  BytesBefore = 6,
  BytesAfter = 7,
  /// <summary>Model runs of a mixed-precision search; 0 otherwise.</summary>
  Evaluations = 8,
  /// <summary>Inputs of converted nodes kept float32 by their schema.</summary>
  Float32Inputs = 9,
  MatmulFlopsTotal = 10,
  MatmulFlops16Bit = 11,
  /// <summary>The most bytes of values a mixed-precision search kept between evaluations.</summary>
  PeakRetainedBytes = 12,
  /// <summary>Selection-list entries that matched no node.</summary>
  Unmatched = 13,
  /// <summary>1 if the model validated on every feed set (0 only for a keep-best candidate).</summary>
  Validated = 14,
  /// <summary>1 if a limit stopped the search and keep-best returned the best so far.</summary>
  StoppedEarly = 15
}

/// <summary>A node the conversion kept in float32, and why.</summary>
public sealed class KeptNode {
  /// <summary>"" for the main graph, else the path of subgraph attributes.</summary>
  public string Graph { get; internal set; }
  public string Name { get; internal set; }
  public string OpType { get; internal set; }
  /// <summary>"op_block_list", "node_block_list", "schema", "model_function", "search",
  /// "unknown_op".</summary>
  public string Reason { get; internal set; }
  public string Detail { get; internal set; }
}

/// <summary>What a conversion or a mixed-precision search did.</summary>
public sealed class Report : IDisposable {
  readonly ReportHandle handle;

  internal Report(ReportHandle handle) { this.handle = handle; }

  /// <summary>One counter; an unknown value is InvalidArgument.</summary>
  public long Get(ReportValue value) {
    long result;
    Native.Check(Native.halfcast_report_get(handle, (int)value, out result));
    return result;
  }

  public long NodesConverted { get { return Get(ReportValue.NodesConverted); } }
  public long NodesKept { get { return Get(ReportValue.NodesKept); } }
  public long Evaluations { get { return Get(ReportValue.Evaluations); } }

  /// <summary>The nodes kept in float32, in report order.</summary>
  public IList<KeptNode> KeptNodes {
    get {
      var nodes = new List<KeptNode>();
      for (long i = 0; i < NodesKept; ++i) {
        IntPtr graph, name, opType, reason, detail;
        Native.Check(Native.halfcast_report_kept_node(handle, (UIntPtr)(ulong)i, out graph, out name,
                                                      out opType, out reason, out detail));
        nodes.Add(new KeptNode { Graph = Native.Utf8(graph), Name = Native.Utf8(name),
                                 OpType = Native.Utf8(opType), Reason = Native.Utf8(reason),
                                 Detail = Native.Utf8(detail) });
      }
      return nodes;
    }
  }

  /// <summary>The whole report as a JSON object (a mixed-precision report nests the
  /// conversion's under "conversion").</summary>
  public string ToJson() {
    IntPtr buffer;
    Native.Check(Native.halfcast_report_to_json(handle, out buffer));
    return System.Text.Encoding.UTF8.GetString(Native.TakeBuffer(buffer));
  }

  public void Dispose() { handle.Dispose(); }
}

}  // namespace Halfcast
