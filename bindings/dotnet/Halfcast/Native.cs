// Raw declarations of halfcast's C ABI (capi/include/halfcast/halfcast_c.h). Handles a call
// creates or consumes are SafeHandle subclasses (Handles.cs); borrowed pointers (callback
// arguments, accessor results) are IntPtr. Strings go in as NUL-terminated UTF-8 byte arrays.
using System;
using System.Runtime.InteropServices;

namespace Halfcast {

internal static class Native {
  // Mapped to libhalfcast_c.so.1 (the SONAME of ABI 1) by Halfcast.dll.config.
  const string Lib = "halfcast_c";

  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  internal delegate void LogFn(int level, IntPtr message, IntPtr userData);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  internal delegate int ValidateFn(IntPtr reference, IntPtr candidate, IntPtr userData);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  internal delegate int ProgressFn(IntPtr progress, IntPtr userData);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  internal delegate IntPtr EvaluatorFn(IntPtr modelBytes, UIntPtr modelSize, IntPtr feeds, IntPtr outputs, IntPtr userData);

  // Versions
  [DllImport(Lib)] internal static extern IntPtr halfcast_version();
  [DllImport(Lib)] internal static extern int halfcast_abi_version();

  // Status
  [DllImport(Lib)] internal static extern IntPtr halfcast_status_create(int code, byte[] message);
  [DllImport(Lib)] internal static extern int halfcast_status_code_of(IntPtr status);
  [DllImport(Lib)] internal static extern IntPtr halfcast_status_message(IntPtr status);
  [DllImport(Lib)] internal static extern IntPtr halfcast_status_code_name(int code);
  [DllImport(Lib)] internal static extern void halfcast_status_destroy(IntPtr status);

  // Buffers
  [DllImport(Lib)] internal static extern IntPtr halfcast_buffer_data(IntPtr buffer);
  [DllImport(Lib)] internal static extern UIntPtr halfcast_buffer_size(IntPtr buffer);
  [DllImport(Lib)] internal static extern void halfcast_buffer_destroy(IntPtr buffer);

  // Models
  [DllImport(Lib)] internal static extern IntPtr halfcast_model_load_file(byte[] path, out ModelHandle model);
  [DllImport(Lib)] internal static extern IntPtr halfcast_model_load_bytes(byte[] data, UIntPtr size, out ModelHandle model);
  [DllImport(Lib)] internal static extern IntPtr halfcast_save_options_create(out SaveOptionsHandle options);
  [DllImport(Lib)] internal static extern void halfcast_save_options_destroy(IntPtr options);
  [DllImport(Lib)] internal static extern IntPtr halfcast_save_options_set_external_data(SaveOptionsHandle options, int externalData, long thresholdBytes, byte[] fileName);
  [DllImport(Lib)] internal static extern IntPtr halfcast_model_save(ModelHandle model, byte[] path, SaveOptionsHandle options);
  [DllImport(Lib)] internal static extern IntPtr halfcast_model_serialize(ModelHandle model, out IntPtr buffer);
  [DllImport(Lib)] internal static extern void halfcast_model_destroy(IntPtr model);

  // Tensors
  [DllImport(Lib)] internal static extern IntPtr halfcast_tensor_create(int type, long[] dims, UIntPtr rank, byte[] data, UIntPtr dataSize, int mode, out TensorHandle tensor);
  [DllImport(Lib)] internal static extern void halfcast_tensor_destroy(IntPtr tensor);
  [DllImport(Lib)] internal static extern int halfcast_tensor_element_type(IntPtr tensor);
  [DllImport(Lib)] internal static extern UIntPtr halfcast_tensor_rank(IntPtr tensor);
  [DllImport(Lib)] internal static extern IntPtr halfcast_tensor_dims(IntPtr tensor);
  [DllImport(Lib)] internal static extern long halfcast_tensor_element_count(IntPtr tensor);
  [DllImport(Lib)] internal static extern IntPtr halfcast_tensor_data(IntPtr tensor);
  [DllImport(Lib)] internal static extern UIntPtr halfcast_tensor_byte_size(IntPtr tensor);

  // Named tensors and feeds
  [DllImport(Lib)] internal static extern IntPtr halfcast_named_tensors_create(out NamedTensorsHandle set);
  [DllImport(Lib)] internal static extern void halfcast_named_tensors_destroy(IntPtr set);
  [DllImport(Lib)] internal static extern IntPtr halfcast_named_tensors_add(NamedTensorsHandle set, byte[] name, TensorHandle tensor);
  // The same function, for a set the library owns (an evaluator's outputs).
  [DllImport(Lib, EntryPoint = "halfcast_named_tensors_add")] internal static extern IntPtr halfcast_named_tensors_add_output(IntPtr set, byte[] name, TensorHandle tensor);
  [DllImport(Lib)] internal static extern UIntPtr halfcast_named_tensors_count(IntPtr set);
  [DllImport(Lib)] internal static extern IntPtr halfcast_named_tensors_name(IntPtr set, UIntPtr index);
  [DllImport(Lib)] internal static extern IntPtr halfcast_named_tensors_tensor(IntPtr set, UIntPtr index);
  [DllImport(Lib)] internal static extern IntPtr halfcast_named_tensors_find(IntPtr set, byte[] name);
  [DllImport(Lib)] internal static extern IntPtr halfcast_feeds_create(out FeedsHandle feeds);
  [DllImport(Lib)] internal static extern void halfcast_feeds_destroy(IntPtr feeds);
  [DllImport(Lib)] internal static extern IntPtr halfcast_feeds_add(FeedsHandle feeds, NamedTensorsHandle set);
  [DllImport(Lib)] internal static extern UIntPtr halfcast_feeds_count(FeedsHandle feeds);

  // Options
  [DllImport(Lib)] internal static extern IntPtr halfcast_option_name(int option);
  [DllImport(Lib)] internal static extern IntPtr halfcast_convert_options_create(out ConvertOptionsHandle options);
  [DllImport(Lib)] internal static extern void halfcast_convert_options_destroy(IntPtr options);
  [DllImport(Lib)] internal static extern IntPtr halfcast_convert_options_set_bool(ConvertOptionsHandle options, int option, int value);
  [DllImport(Lib)] internal static extern IntPtr halfcast_convert_options_set_int(ConvertOptionsHandle options, int option, long value);
  [DllImport(Lib)] internal static extern IntPtr halfcast_convert_options_set_double(ConvertOptionsHandle options, int option, double value);
  [DllImport(Lib)] internal static extern IntPtr halfcast_convert_options_set_strings(ConvertOptionsHandle options, int option, IntPtr[] values, UIntPtr count);
  [DllImport(Lib)] internal static extern IntPtr halfcast_convert_options_set_ints(ConvertOptionsHandle options, int option, long[] values, UIntPtr count);
  [DllImport(Lib)] internal static extern IntPtr halfcast_convert_options_set_log_callback(ConvertOptionsHandle options, LogFn fn, IntPtr userData);
  [DllImport(Lib)] internal static extern IntPtr halfcast_mixed_precision_options_create(out MixedOptionsHandle options);
  [DllImport(Lib)] internal static extern void halfcast_mixed_precision_options_destroy(IntPtr options);
  [DllImport(Lib)] internal static extern IntPtr halfcast_mixed_precision_options_set_bool(MixedOptionsHandle options, int option, int value);
  [DllImport(Lib)] internal static extern IntPtr halfcast_mixed_precision_options_set_int(MixedOptionsHandle options, int option, long value);
  [DllImport(Lib)] internal static extern IntPtr halfcast_mixed_precision_options_set_double(MixedOptionsHandle options, int option, double value);
  [DllImport(Lib)] internal static extern IntPtr halfcast_mixed_precision_options_set_strings(MixedOptionsHandle options, int option, IntPtr[] values, UIntPtr count);
  [DllImport(Lib)] internal static extern IntPtr halfcast_mixed_precision_options_set_log_callback(MixedOptionsHandle options, LogFn fn, IntPtr userData);
  [DllImport(Lib)] internal static extern IntPtr halfcast_mixed_precision_options_set_validate_callback(MixedOptionsHandle options, ValidateFn fn, IntPtr userData);
  [DllImport(Lib)] internal static extern IntPtr halfcast_mixed_precision_options_set_evaluator_callback(MixedOptionsHandle options, EvaluatorFn fn, IntPtr userData);
  [DllImport(Lib)] internal static extern IntPtr halfcast_mixed_precision_options_set_progress_callback(MixedOptionsHandle options, ProgressFn fn, IntPtr userData);

  // Progress
  [DllImport(Lib)] internal static extern long halfcast_progress_evaluations(IntPtr progress);
  [DllImport(Lib)] internal static extern double halfcast_progress_elapsed_seconds(IntPtr progress);
  [DllImport(Lib)] internal static extern UIntPtr halfcast_progress_segment_count(IntPtr progress);
  [DllImport(Lib)] internal static extern int halfcast_progress_segment(IntPtr progress, UIntPtr index, out UIntPtr begin, out UIntPtr size, out int state);
  [DllImport(Lib)] internal static extern IntPtr halfcast_progress_text(IntPtr progress);

  // Reports
  [DllImport(Lib)] internal static extern IntPtr halfcast_report_get(ReportHandle report, int value, out long result);
  [DllImport(Lib)] internal static extern IntPtr halfcast_report_kept_node(ReportHandle report, UIntPtr index, out IntPtr graph, out IntPtr name, out IntPtr opType, out IntPtr reason, out IntPtr detail);
  [DllImport(Lib)] internal static extern IntPtr halfcast_report_unmatched(ReportHandle report, UIntPtr index, out IntPtr list, out IntPtr entry);
  [DllImport(Lib)] internal static extern IntPtr halfcast_report_stop_reason(ReportHandle report);
  [DllImport(Lib)] internal static extern IntPtr halfcast_report_to_json(ReportHandle report, out IntPtr json);
  [DllImport(Lib)] internal static extern void halfcast_report_destroy(IntPtr report);

  // Conversions
  [DllImport(Lib)] internal static extern IntPtr halfcast_convert_float_to_float16(ModelHandle model, ConvertOptionsHandle options, out ModelHandle result, out ReportHandle report);
  [DllImport(Lib)] internal static extern IntPtr halfcast_convert_file(byte[] inputPath, byte[] outputPath, ConvertOptionsHandle options, SaveOptionsHandle saveOptions, out ReportHandle report);
  [DllImport(Lib)] internal static extern IntPtr halfcast_auto_convert_mixed_precision(ModelHandle model, FeedsHandle feeds, MixedOptionsHandle options, out ModelHandle result, out ReportHandle report);
  [DllImport(Lib)] internal static extern IntPtr halfcast_auto_convert_mixed_precision_file(byte[] inputPath, byte[] outputPath, FeedsHandle feeds, MixedOptionsHandle options, SaveOptionsHandle saveOptions, out ReportHandle report);

  // Throws the error a status carries, after destroying it.
  internal static void Check(IntPtr status) {
    if (status == IntPtr.Zero) return;
    var code = (StatusCode)halfcast_status_code_of(status);
    string message = Utf8(halfcast_status_message(status));
    halfcast_status_destroy(status);
    throw new HalfcastException(code, message);
  }

  internal static byte[] CString(string s) {
    if (s == null) return null;
    if (s.IndexOf('\0') >= 0) {
      throw new HalfcastException(StatusCode.InvalidArgument, "string holds a NUL character: " + s);
    }
    return System.Text.Encoding.UTF8.GetBytes(s + "\0");
  }

  // A copy of a borrowed C string ("" for NULL).
  internal static string Utf8(IntPtr p) {
    if (p == IntPtr.Zero) return "";
    int length = 0;
    while (Marshal.ReadByte(p, length) != 0) ++length;
    var bytes = new byte[length];
    Marshal.Copy(p, bytes, 0, length);
    return System.Text.Encoding.UTF8.GetString(bytes);
  }

  // Copies a library-owned buffer's bytes and destroys it.
  internal static byte[] TakeBuffer(IntPtr buffer) {
    try {
      var bytes = new byte[(long)(ulong)halfcast_buffer_size(buffer)];
      if (bytes.Length > 0) Marshal.Copy(halfcast_buffer_data(buffer), bytes, 0, bytes.Length);
      return bytes;
    } finally {
      halfcast_buffer_destroy(buffer);
    }
  }
}

}  // namespace Halfcast
