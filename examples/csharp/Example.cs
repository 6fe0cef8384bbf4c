// halfcast from C#: P/Invoke over the C API, each handle a SafeHandle. Converts a model to
// float16, then finds a mixed-precision version whose output a validate delegate accepts.
//   mcs -out:example.exe Example.cs && mono example.exe MODEL.onnx OUT_DIR
// (libhalfcast_c.so must be on the loader's path, e.g. LD_LIBRARY_PATH=<prefix>/lib.)
// The model is the PaddleOCR text-direction classifier (input x: [1, 3, 48, 192]).
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;

namespace Halfcast {

public class HalfcastException : Exception {
  public int Code { get; }
  public HalfcastException(int code, string message) : base(message + " (code " + code + ")") {
    Code = code;
  }
}

static class Native {
  const string Lib = "halfcast_c";
  public const int AbiVersion = 1;  // HALFCAST_C_ABI_VERSION
  public const int OptionKeepIoTypes = 2;
  public const int ReportNodesConverted = 0, ReportNodesKept = 1, ReportEvaluations = 8;
  public const int ElementFloat = 1, ElementFloat16 = 10, TensorCopy = 0;

  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  public delegate int ValidateFn(IntPtr reference, IntPtr candidate, IntPtr userData);

  [DllImport(Lib)] public static extern int halfcast_abi_version();
  [DllImport(Lib)] public static extern int halfcast_status_code_of(IntPtr status);
  [DllImport(Lib)] public static extern IntPtr halfcast_status_message(IntPtr status);
  [DllImport(Lib)] public static extern void halfcast_status_destroy(IntPtr status);
  [DllImport(Lib)] public static extern IntPtr halfcast_model_load_file(byte[] path, out ModelHandle model);
  [DllImport(Lib)] public static extern IntPtr halfcast_model_save(ModelHandle model, byte[] path, IntPtr options);
  [DllImport(Lib)] public static extern void halfcast_model_destroy(IntPtr model);
  [DllImport(Lib)] public static extern IntPtr halfcast_convert_options_create(out ConvertOptionsHandle options);
  [DllImport(Lib)] public static extern IntPtr halfcast_convert_options_set_bool(ConvertOptionsHandle options, int option, int value);
  [DllImport(Lib)] public static extern void halfcast_convert_options_destroy(IntPtr options);
  [DllImport(Lib)] public static extern IntPtr halfcast_convert_float_to_float16(ModelHandle model, ConvertOptionsHandle options, out ModelHandle result, out ReportHandle report);
  [DllImport(Lib)] public static extern IntPtr halfcast_mixed_precision_options_create(out MixedOptionsHandle options);
  [DllImport(Lib)] public static extern IntPtr halfcast_mixed_precision_options_set_bool(MixedOptionsHandle options, int option, int value);
  [DllImport(Lib)] public static extern IntPtr halfcast_mixed_precision_options_set_validate_callback(MixedOptionsHandle options, ValidateFn fn, IntPtr userData);
  [DllImport(Lib)] public static extern void halfcast_mixed_precision_options_destroy(IntPtr options);
  [DllImport(Lib)] public static extern IntPtr halfcast_auto_convert_mixed_precision(ModelHandle model, FeedsHandle feeds, MixedOptionsHandle options, out ModelHandle result, out ReportHandle report);
  [DllImport(Lib)] public static extern IntPtr halfcast_tensor_create(int type, long[] dims, UIntPtr rank, float[] data, UIntPtr size, int mode, out TensorHandle tensor);
  [DllImport(Lib)] public static extern void halfcast_tensor_destroy(IntPtr tensor);
  [DllImport(Lib)] public static extern int halfcast_tensor_element_type(IntPtr tensor);
  [DllImport(Lib)] public static extern long halfcast_tensor_element_count(IntPtr tensor);
  [DllImport(Lib)] public static extern IntPtr halfcast_tensor_data(IntPtr tensor);
  [DllImport(Lib)] public static extern IntPtr halfcast_named_tensors_create(out NamedTensorsHandle set);
  [DllImport(Lib)] public static extern IntPtr halfcast_named_tensors_add(NamedTensorsHandle set, byte[] name, TensorHandle tensor);
  [DllImport(Lib)] public static extern UIntPtr halfcast_named_tensors_count(IntPtr set);
  [DllImport(Lib)] public static extern IntPtr halfcast_named_tensors_name(IntPtr set, UIntPtr index);
  [DllImport(Lib)] public static extern IntPtr halfcast_named_tensors_tensor(IntPtr set, UIntPtr index);
  [DllImport(Lib)] public static extern void halfcast_named_tensors_destroy(IntPtr set);
  [DllImport(Lib)] public static extern IntPtr halfcast_feeds_create(out FeedsHandle feeds);
  [DllImport(Lib)] public static extern IntPtr halfcast_feeds_add(FeedsHandle feeds, NamedTensorsHandle set);
  [DllImport(Lib)] public static extern void halfcast_feeds_destroy(IntPtr feeds);
  [DllImport(Lib)] public static extern IntPtr halfcast_report_get(ReportHandle report, int value, out long result);
  [DllImport(Lib)] public static extern void halfcast_report_destroy(IntPtr report);

  // Throws the error a halfcast_status* carries, after freeing it.
  public static void Check(IntPtr status) {
    if (status == IntPtr.Zero) return;
    int code = halfcast_status_code_of(status);
    string message = Utf8(halfcast_status_message(status));
    halfcast_status_destroy(status);
    throw new HalfcastException(code, message);
  }

  public static byte[] CString(string s) {
    return System.Text.Encoding.UTF8.GetBytes(s + "\0");
  }

  public static string Utf8(IntPtr p) {
    int length = 0;
    while (Marshal.ReadByte(p, length) != 0) ++length;
    byte[] bytes = new byte[length];
    Marshal.Copy(p, bytes, 0, length);
    return System.Text.Encoding.UTF8.GetString(bytes);
  }
}

// One SafeHandle per handle type: the runtime calls the destroy function exactly once.
public abstract class Handle : SafeHandle {
  protected Handle() : base(IntPtr.Zero, true) {}
  public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
}
public sealed class ModelHandle : Handle {
  protected override bool ReleaseHandle() { Native.halfcast_model_destroy(handle); return true; }
}
public sealed class ReportHandle : Handle {
  protected override bool ReleaseHandle() { Native.halfcast_report_destroy(handle); return true; }
}
public sealed class ConvertOptionsHandle : Handle {
  protected override bool ReleaseHandle() { Native.halfcast_convert_options_destroy(handle); return true; }
}
public sealed class MixedOptionsHandle : Handle {
  protected override bool ReleaseHandle() { Native.halfcast_mixed_precision_options_destroy(handle); return true; }
}
public sealed class TensorHandle : Handle {
  protected override bool ReleaseHandle() { Native.halfcast_tensor_destroy(handle); return true; }
}
public sealed class NamedTensorsHandle : Handle {
  protected override bool ReleaseHandle() { Native.halfcast_named_tensors_destroy(handle); return true; }
}
public sealed class FeedsHandle : Handle {
  protected override bool ReleaseHandle() { Native.halfcast_feeds_destroy(handle); return true; }
}

public static class Example {
  static long ReportValue(ReportHandle report, int value) {
    long result;
    Native.Check(Native.halfcast_report_get(report, value, out result));
    return result;
  }

  static float HalfToFloat(ushort h) {
    int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double value = exponent == 0 ? mantissa * Math.Pow(2, -24)
                 : exponent == 31 ? (mantissa != 0 ? double.NaN : double.PositiveInfinity)
                 : (mantissa + 1024) * Math.Pow(2, exponent - 25);
    return (float)((h & 0x8000) != 0 ? -value : value);
  }

  // Outputs by name as float32 values (float16 widened), copied out of a callback's set.
  static Dictionary<string, float[]> Outputs(IntPtr set) {
    var outputs = new Dictionary<string, float[]>();
    ulong count = (ulong)Native.halfcast_named_tensors_count(set);
    for (ulong i = 0; i < count; ++i) {
      IntPtr tensor = Native.halfcast_named_tensors_tensor(set, (UIntPtr)i);
      int n = (int)Native.halfcast_tensor_element_count(tensor);
      IntPtr data = Native.halfcast_tensor_data(tensor);
      var values = new float[n];
      if (Native.halfcast_tensor_element_type(tensor) == Native.ElementFloat) {
        Marshal.Copy(data, values, 0, n);
      } else {
        var halves = new short[n];
        Marshal.Copy(data, halves, 0, n);
        for (int j = 0; j < n; ++j) values[j] = HalfToFloat((ushort)halves[j]);
      }
      outputs[Native.Utf8(Native.halfcast_named_tensors_name(set, (UIntPtr)i))] = values;
    }
    return outputs;
  }

  public static int Main(string[] args) {
    if (args.Length != 2) {
      Console.Error.WriteLine("usage: example.exe MODEL.onnx OUT_DIR");
      return 2;
    }
    if (Native.halfcast_abi_version() != Native.AbiVersion) {
      Console.Error.WriteLine("libhalfcast_c has ABI " + Native.halfcast_abi_version());
      return 1;
    }
    try {
      return Run(args[0], args[1]);
    } catch (HalfcastException e) {
      Console.Error.WriteLine("halfcast: " + e.Message);
      return 1;
    }
  }

  static int Run(string modelPath, string outDir) {
    ModelHandle model;
    Native.Check(Native.halfcast_model_load_file(Native.CString(modelPath), out model));
    using (model) {
      ConvertOptionsHandle convert;
      Native.Check(Native.halfcast_convert_options_create(out convert));
      ModelHandle fp16;
      ReportHandle report;
      using (convert) {
        Native.Check(Native.halfcast_convert_options_set_bool(convert, Native.OptionKeepIoTypes, 1));
        Native.Check(Native.halfcast_convert_float_to_float16(model, convert, out fp16, out report));
      }
      string path = Path.Combine(outDir, "model.fp16.onnx");
      using (fp16)
      using (report) {
        Native.Check(Native.halfcast_model_save(fp16, Native.CString(path), IntPtr.Zero));
        Console.WriteLine("float16: " + ReportValue(report, Native.ReportNodesConverted) +
                          " nodes converted, saved to " + path);
      }

      var dims = new long[] {1, 3, 48, 192};
      var x = new float[3 * 48 * 192];
      for (int i = 0; i < x.Length; ++i) x[i] = (float)Math.Sin(0.001 * i);
      int calls = 0;
      // Accept when every output is within 0.01 of float32's. Exceptions must not reach C.
      Native.ValidateFn validate = (reference, candidate, userData) => {
        try {
          ++calls;
          var got = Outputs(candidate);
          foreach (var entry in Outputs(reference)) {
            float[] values;
            if (!got.TryGetValue(entry.Key, out values) || values.Length != entry.Value.Length) return 0;
            for (int i = 0; i < values.Length; ++i) {
              if (!(Math.Abs(values[i] - entry.Value[i]) <= 0.01)) return 0;
            }
          }
          return 1;
        } catch (Exception e) {
          Console.Error.WriteLine("validate failed: " + e.Message);
          return -1;
        }
      };

      TensorHandle tensor;
      NamedTensorsHandle set;
      FeedsHandle feeds;
      MixedOptionsHandle options;
      Native.Check(Native.halfcast_tensor_create(Native.ElementFloat, dims, (UIntPtr)dims.Length, x,
                                                 (UIntPtr)(4 * x.Length), Native.TensorCopy, out tensor));
      Native.Check(Native.halfcast_named_tensors_create(out set));
      Native.Check(Native.halfcast_feeds_create(out feeds));
      Native.Check(Native.halfcast_mixed_precision_options_create(out options));
      using (tensor) using (set) using (feeds) using (options) {
        Native.Check(Native.halfcast_named_tensors_add(set, Native.CString("x"), tensor));
        Native.Check(Native.halfcast_feeds_add(feeds, set));
        Native.Check(Native.halfcast_mixed_precision_options_set_bool(options, Native.OptionKeepIoTypes, 1));
        Native.Check(Native.halfcast_mixed_precision_options_set_validate_callback(options, validate, IntPtr.Zero));
        ModelHandle mixed;
        Native.Check(Native.halfcast_auto_convert_mixed_precision(model, feeds, options, out mixed, out report));
        GC.KeepAlive(validate);  // the library held a pointer to it until here
        using (mixed)
        using (report) {
          Console.WriteLine("mixed precision: " + ReportValue(report, Native.ReportNodesKept) +
                            " nodes kept in float32, " + ReportValue(report, Native.ReportEvaluations) +
                            " evaluations, " + calls + " validate calls");
        }
      }
      return calls > 0 ? 0 : 1;
    }
  }
}

}  // namespace Halfcast
