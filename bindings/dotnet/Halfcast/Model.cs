// Models, and the conversions between them.
using System;

namespace Halfcast {

/// <summary>An ONNX model held by the library. It is never modified once created, so threads
/// may convert the same model at once.</summary>
/// <example>
/// <code>
/// using (var model = Model.Load("model.onnx"))
/// using (var options = new ConvertOptions().SetBool(OptionKey.KeepIoTypes, true))
/// using (var fp16 = model.Convert(options)) {
///   fp16.Model.Save("model.fp16.onnx");
///   Console.WriteLine(fp16.Report.NodesConverted + " nodes converted");
/// }
/// </code>
/// </example>
public sealed class Model : IDisposable {
  internal readonly ModelHandle Handle;

  internal Model(ModelHandle handle) { Handle = handle; }

  /// <summary>Loads a model file; external data is read relative to its folder. Errors:
  /// NotFound, InvalidArgument (not an ONNX model, bad external data).</summary>
  public static Model Load(string path) {
    Library.EnsureCompatible();
    ModelHandle handle;
    Native.Check(Native.halfcast_model_load_file(Native.CString(path), out handle));
    return new Model(handle);
  }

  /// <summary>Parses a self-contained model from its serialized bytes (copied).</summary>
  public static Model FromBytes(byte[] bytes) {
    Library.EnsureCompatible();
    ModelHandle handle;
    Native.Check(Native.halfcast_model_load_bytes(bytes, (UIntPtr)bytes.Length, out handle));
    return new Model(handle);
  }

  /// <summary>Writes the model to <paramref name="path"/> atomically, as
  /// <paramref name="options"/> say (null: one file).</summary>
  public void Save(string path, SaveOptions options = null) {
    Native.Check(Native.halfcast_model_save(Handle, Native.CString(path),
                                            options == null ? SaveOptionsHandle.Null : options.Handle));
  }

  /// <summary>The serialized model (self-contained models only).</summary>
  public byte[] ToBytes() {
    IntPtr buffer;
    Native.Check(Native.halfcast_model_serialize(Handle, out buffer));
    return Native.TakeBuffer(buffer);
  }

  /// <summary>Converts the model as onnxconverter-common's convert_float_to_float16 does
  /// (null options: the defaults). Errors: InvalidArgument (bad options, malformed model),
  /// FailedPrecondition (the model already holds float16 and CheckFp16Ready is set).</summary>
  public Conversion Convert(ConvertOptions options = null) {
    ModelHandle model;
    ReportHandle report;
    IntPtr status = Native.halfcast_convert_float_to_float16(
        Handle, options == null ? ConvertOptionsHandle.Null : options.Handle, out model, out report);
    return Conversion.Of(status, model, report, options == null ? null : options.Callbacks);
  }

  /// <summary>Finds the fewest float32 nodes that keep the model accurate on
  /// <paramref name="feeds"/>, as onnxconverter-common's auto_convert_mixed_precision does.
  /// <paramref name="options"/> must set a tolerance or a validate callback. Errors:
  /// InvalidArgument (no tolerance, feeds missing an input), FailedPrecondition (nothing
  /// validates), Cancelled (the progress callback said stop), Aborted, ResourceExhausted,
  /// DeadlineExceeded. An exception a callback threw is rethrown here.</summary>
  public Conversion AutoMixedPrecision(Feeds feeds, MixedPrecisionOptions options) {
    ModelHandle model;
    ReportHandle report;
    IntPtr status = Native.halfcast_auto_convert_mixed_precision(Handle, feeds.Handle, options.Handle,
                                                                 out model, out report);
    GC.KeepAlive(options);  // its delegates were called until here
    return Conversion.Of(status, model, report, options.Callbacks);
  }

  /// <summary>Converts the model file <paramref name="input"/> to <paramref name="output"/>
  /// (written atomically), streaming external data: for models with external data or over
  /// 2 GB. Null options are the defaults.</summary>
  public static Report ConvertFile(string input, string output, ConvertOptions options = null,
                                   SaveOptions saveOptions = null) {
    Library.EnsureCompatible();
    ReportHandle report;
    IntPtr status = Native.halfcast_convert_file(
        Native.CString(input), Native.CString(output),
        options == null ? ConvertOptionsHandle.Null : options.Handle,
        saveOptions == null ? SaveOptionsHandle.Null : saveOptions.Handle, out report);
    return Conversion.Of(status, null, report, options == null ? null : options.Callbacks).Report;
  }

  /// <summary>AutoMixedPrecision from a file to a file (written atomically), for models with
  /// external data.</summary>
  public static Report AutoMixedPrecisionFile(string input, string output, Feeds feeds,
                                              MixedPrecisionOptions options,
                                              SaveOptions saveOptions = null) {
    Library.EnsureCompatible();
    ReportHandle report;
    IntPtr status = Native.halfcast_auto_convert_mixed_precision_file(
        Native.CString(input), Native.CString(output), feeds.Handle, options.Handle,
        saveOptions == null ? SaveOptionsHandle.Null : saveOptions.Handle, out report);
    GC.KeepAlive(options);
    return Conversion.Of(status, null, report, options.Callbacks).Report;
  }

  public void Dispose() { Handle.Dispose(); }
}

/// <summary>A converted model and the report of its conversion.</summary>
public sealed class Conversion : IDisposable {
  public Model Model { get; private set; }
  public Report Report { get; private set; }

  // The outputs of a conversion call; throws its error, or rethrows an exception one of its
  // callbacks threw (after freeing the outputs).
  internal static Conversion Of(IntPtr status, ModelHandle model, ReportHandle report,
                                CallbackState callbacks) {
    var result = new Conversion {
      Model = model == null || model.IsInvalid ? null : new Model(model),
      Report = report == null || report.IsInvalid ? null : new Report(report),
    };
    if (callbacks != null && callbacks.Pending) {
      Native.halfcast_status_destroy(status);
      result.Dispose();
      callbacks.Rethrow();
    }
    Native.Check(status);
    return result;
  }

  public void Dispose() {
    if (Model != null) Model.Dispose();
    if (Report != null) Report.Dispose();
  }
}

}  // namespace Halfcast
