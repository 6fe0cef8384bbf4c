// One SafeHandle per C handle type: the runtime calls the destroy function exactly once, even
// when the owner is never disposed, and never for a handle a failed call left unset (NULL).
using System;
using System.Runtime.InteropServices;

namespace Halfcast {

internal abstract class HalfcastHandle : SafeHandle {
  protected HalfcastHandle() : base(IntPtr.Zero, true) {}
  public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
}

internal sealed class ModelHandle : HalfcastHandle {
  protected override bool ReleaseHandle() { Native.halfcast_model_destroy(handle); return true; }
}
internal sealed class ReportHandle : HalfcastHandle {
  protected override bool ReleaseHandle() { Native.halfcast_report_destroy(handle); return true; }
}
internal sealed class TensorHandle : HalfcastHandle {
  protected override bool ReleaseHandle() { Native.halfcast_tensor_destroy(handle); return true; }
}
internal sealed class NamedTensorsHandle : HalfcastHandle {
  protected override bool ReleaseHandle() { Native.halfcast_named_tensors_destroy(handle); return true; }
}
internal sealed class FeedsHandle : HalfcastHandle {
  protected override bool ReleaseHandle() { Native.halfcast_feeds_destroy(handle); return true; }
}
// The Null instances stand for an optional argument left out (NULL: the C API's defaults).
internal sealed class SaveOptionsHandle : HalfcastHandle {
  internal static readonly SaveOptionsHandle Null = new SaveOptionsHandle();
  protected override bool ReleaseHandle() { Native.halfcast_save_options_destroy(handle); return true; }
}
internal sealed class ConvertOptionsHandle : HalfcastHandle {
  internal static readonly ConvertOptionsHandle Null = new ConvertOptionsHandle();
  protected override bool ReleaseHandle() { Native.halfcast_convert_options_destroy(handle); return true; }
}
internal sealed class MixedOptionsHandle : HalfcastHandle {
  protected override bool ReleaseHandle() { Native.halfcast_mixed_precision_options_destroy(handle); return true; }
}

}  // namespace Halfcast
