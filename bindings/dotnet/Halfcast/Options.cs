// Options of conversions and mixed-precision searches, and of how models are saved.
using System;
using System.Runtime.InteropServices;

namespace Halfcast {

/// <summary>Option keys (halfcast_option), shared by ConvertOptions (C) and
/// MixedPrecisionOptions (M); each takes one kind of value. See the C header for
/// defaults.</summary>
public enum OptionKey {
  /// <summary>double (C, M): constants with 0 &lt; |x| &lt; it become sign(x) * it.</summary>
  MinPositiveVal = 0,
  /// <summary>double (C, M): finite constants with |x| &gt; it become sign(x) * it.</summary>
  MaxFiniteVal = 1,
  /// <summary>bool (C, M): float32 graph inputs and outputs stay float32.</summary>
  KeepIoTypes = 2,
  /// <summary>strings (C): only these graph inputs/outputs stay float32.</summary>
  KeepIoNames = 3,
  /// <summary>bool (C): skip ONNX shape inference.</summary>
  DisableShapeInfer = 4,
  /// <summary>strings (C, M): op types kept in float32.</summary>
  OpBlockList = 5,
  /// <summary>strings (C): node names kept in float32.</summary>
  NodeBlockList = 6,
  /// <summary>ints (C): positions of top-level nodes kept in float32.</summary>
  NodeIndexBlockList = 7,
  /// <summary>bool (C): refuse a model already holding float16/bfloat16.</summary>
  CheckFp16Ready = 8,
  /// <summary>int (C, M): a Target.</summary>
  Target = 9,
  /// <summary>double (M): numpy.allclose rtol.</summary>
  Rtol = 10,
  /// <summary>double (M): numpy.allclose atol.</summary>
  Atol = 11,
  /// <summary>int (M): a Strategy.</summary>
  Strategy = 12,
  /// <summary>int (M): evaluations allowed, 0 = no limit.</summary>
  MaxEvaluations = 13,
  /// <summary>strings (C, M): "domain:op_type" ops declared 16-bit capable.</summary>
  Fp16Ops = 14,
  /// <summary>double (M): seconds the whole search may take, 0 = no limit.</summary>
  TimeLimit = 15,
  /// <summary>double (M), in [0, 1): candidates must meet rtol/atol scaled by (1 - it).</summary>
  SafetyMargin = 16,
  /// <summary>int (M): bytes of values the search keeps between evaluations, 0 = no bound.</summary>
  MaxRetainedBytes = 17,
  /// <summary>strings (C, M): op types forced to 16 bits, over the op block list.</summary>
  OpIncludeList = 18,
  /// <summary>strings (C, M): node names forced to 16 bits, over every block list.</summary>
  NodeIncludeList = 19,
  /// <summary>bool (C, M): a list entry that matches nothing is an error.</summary>
  StrictLists = 20,
  /// <summary>bool (M): a limit returns the best candidate so far instead of failing.</summary>
  KeepBest = 21,
  /// <summary>bool (M): candidates must also validate as ONNX Runtime's CPU provider runs float16.</summary>
  CheckOrtCpu = 22
}

/// <summary>The 16-bit type a conversion targets (OptionKey.Target).</summary>
public enum Target { Float16 = 0, BFloat16 = 1 }

/// <summary>How a mixed-precision search picks what to try (OptionKey.Strategy).</summary>
public enum Strategy { ErrorGuided = 0, Bisect = 1 }

internal static class Strings {
  // Calls `set` with `values` as an array of C strings, freed after.
  internal static void With(string[] values, Func<IntPtr[], UIntPtr, IntPtr> set) {
    var pointers = new IntPtr[values.Length];
    try {
      for (int i = 0; i < values.Length; ++i) {
        byte[] bytes = Native.CString(values[i]);
        pointers[i] = Marshal.AllocHGlobal(bytes.Length);
        Marshal.Copy(bytes, 0, pointers[i], bytes.Length);
      }
      Native.Check(set(pointers, (UIntPtr)values.Length));
    } finally {
      foreach (var p in pointers) {
        if (p != IntPtr.Zero) Marshal.FreeHGlobal(p);
      }
    }
  }
}

/// <summary>Options of Model.Convert and Model.ConvertFile, created with
/// onnxconverter-common's defaults. Setting a key of another kind, or one these options do not
/// have, is InvalidArgument, as is a value out of range. Used by one thread at a time.</summary>
public sealed class ConvertOptions : IDisposable {
  internal readonly ConvertOptionsHandle Handle;
  internal readonly CallbackState Callbacks = new CallbackState();
#pragma warning disable 414  // only held: the library may call it until replaced or disposed
  Native.LogFn log;
#pragma warning restore 414

  public ConvertOptions() {
    Library.EnsureCompatible();
    Native.Check(Native.halfcast_convert_options_create(out Handle));
  }

  public ConvertOptions SetBool(OptionKey key, bool value) {
    Native.Check(Native.halfcast_convert_options_set_bool(Handle, (int)key, value ? 1 : 0));
    return this;
  }

  public ConvertOptions SetInt(OptionKey key, long value) {
    Native.Check(Native.halfcast_convert_options_set_int(Handle, (int)key, value));
    return this;
  }

  public ConvertOptions SetDouble(OptionKey key, double value) {
    Native.Check(Native.halfcast_convert_options_set_double(Handle, (int)key, value));
    return this;
  }

  /// <summary>Replaces a string-list option.</summary>
  public ConvertOptions SetStrings(OptionKey key, params string[] values) {
    Strings.With(values, (p, n) => Native.halfcast_convert_options_set_strings(Handle, (int)key, p, n));
    return this;
  }

  /// <summary>Replaces an int-list option (NodeIndexBlockList).</summary>
  public ConvertOptions SetInts(OptionKey key, params long[] values) {
    Native.Check(Native.halfcast_convert_options_set_ints(Handle, (int)key, values, (UIntPtr)values.Length));
    return this;
  }

  /// <summary>Sends the library's messages to <paramref name="log"/> (null: none), called on
  /// the converting thread. An exception it throws is rethrown once the call returns.</summary>
  public ConvertOptions SetLog(Action<LogLevel, string> log) {
    Native.LogFn fn = log == null ? null : Callbacks.Log(log);
    Native.Check(Native.halfcast_convert_options_set_log_callback(Handle, fn, IntPtr.Zero));
    this.log = fn;
    return this;
  }

  public void Dispose() { Handle.Dispose(); }
}

/// <summary>Options of Model.AutoMixedPrecision, created with the defaults, which set no
/// tolerance: set OptionKey.Rtol and/or OptionKey.Atol, or a validate callback. Used by one
/// thread at a time.</summary>
public sealed class MixedPrecisionOptions : IDisposable {
  internal readonly MixedOptionsHandle Handle;
  internal readonly CallbackState Callbacks = new CallbackState();
#pragma warning disable 414  // only held: the library may call them until replaced or disposed
  Native.LogFn log;
  Native.ValidateFn validate;
  Native.ProgressFn progress;
  Native.EvaluatorFn evaluate;
#pragma warning restore 414

  public MixedPrecisionOptions() {
    Library.EnsureCompatible();
    Native.Check(Native.halfcast_mixed_precision_options_create(out Handle));
  }

  public MixedPrecisionOptions SetBool(OptionKey key, bool value) {
    Native.Check(Native.halfcast_mixed_precision_options_set_bool(Handle, (int)key, value ? 1 : 0));
    return this;
  }

  public MixedPrecisionOptions SetInt(OptionKey key, long value) {
    Native.Check(Native.halfcast_mixed_precision_options_set_int(Handle, (int)key, value));
    return this;
  }

  public MixedPrecisionOptions SetDouble(OptionKey key, double value) {
    Native.Check(Native.halfcast_mixed_precision_options_set_double(Handle, (int)key, value));
    return this;
  }

  /// <summary>Replaces a string-list option.</summary>
  public MixedPrecisionOptions SetStrings(OptionKey key, params string[] values) {
    Strings.With(values, (p, n) => Native.halfcast_mixed_precision_options_set_strings(Handle, (int)key, p, n));
    return this;
  }

  /// <summary>Sends the library's messages to <paramref name="log"/> (null: none).</summary>
  public MixedPrecisionOptions SetLog(Action<LogLevel, string> log) {
    Native.LogFn fn = log == null ? null : Callbacks.Log(log);
    Native.Check(Native.halfcast_mixed_precision_options_set_log_callback(Handle, fn, IntPtr.Zero));
    this.log = fn;
    return this;
  }

  /// <summary>Judges each candidate: <paramref name="validate"/>(reference, candidate) gets
  /// the float32 model's and the candidate's outputs by name (valid during the call) and
  /// returns true to accept. Used instead of, or together with, Rtol/Atol. An exception it
  /// throws stops the search and is rethrown once the call returns.</summary>
  public MixedPrecisionOptions SetValidate(Func<TensorSet, TensorSet, bool> validate) {
    Native.ValidateFn fn = validate == null ? null : Callbacks.Validate(validate);
    Native.Check(Native.halfcast_mixed_precision_options_set_validate_callback(Handle, fn, IntPtr.Zero));
    this.validate = fn;
    return this;
  }

  /// <summary>Called after each attempt; returning false cancels the search
  /// (StatusCode.Cancelled).</summary>
  public MixedPrecisionOptions SetProgress(Func<Progress, bool> progress) {
    Native.ProgressFn fn = progress == null ? null : Callbacks.Progress(progress);
    Native.Check(Native.halfcast_mixed_precision_options_set_progress_callback(Handle, fn, IntPtr.Zero));
    this.progress = fn;
    return this;
  }

  /// <summary>Runs candidates in the caller's runtime instead of the built-in CPU evaluator
  /// (null: the built-in one): <paramref name="evaluate"/>(modelBytes, feeds, outputs) gets a
  /// serialized self-contained model and one run's inputs (valid during the call) and adds the
  /// graph outputs it computed to outputs. A HalfcastException it throws ends the search with
  /// that code and message; another exception is rethrown once the call returns.</summary>
  public MixedPrecisionOptions SetEvaluate(Action<byte[], TensorSet, EvaluatorOutputs> evaluate) {
    Native.EvaluatorFn fn = evaluate == null ? null : Callbacks.Evaluate(evaluate);
    Native.Check(Native.halfcast_mixed_precision_options_set_evaluator_callback(Handle, fn, IntPtr.Zero));
    this.evaluate = fn;
    return this;
  }

  public void Dispose() { Handle.Dispose(); }
}

/// <summary>How a model file is written: by default one self-contained file.</summary>
public sealed class SaveOptions : IDisposable {
  internal readonly SaveOptionsHandle Handle;

  public SaveOptions() {
    Library.EnsureCompatible();
    Native.Check(Native.halfcast_save_options_create(out Handle));
  }

  /// <summary>Tensors of at least <paramref name="thresholdBytes"/> go to the side file
  /// <paramref name="fileName"/> (null: "&lt;model file name&gt;.data") next to the
  /// model.</summary>
  public SaveOptions SetExternalData(long thresholdBytes, string fileName = null) {
    Native.Check(Native.halfcast_save_options_set_external_data(Handle, 1, thresholdBytes,
                                                                Native.CString(fileName)));
    return this;
  }

  public void Dispose() { Handle.Dispose(); }
}

}  // namespace Halfcast
