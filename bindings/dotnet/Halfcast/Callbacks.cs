// Callbacks as delegates: the options object that registered one keeps it alive (the library
// holds only a function pointer), and an exception thrown in one never unwinds into C: it is
// caught, the library is told to stop where it can, and it is rethrown once the library call
// has returned.
using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Halfcast {

/// <summary>The importance of a log message.</summary>
public enum LogLevel { Debug = 0, Info = 1, Warning = 2, Error = 3 }

/// <summary>Whether a segment of the search holds float16 nodes.</summary>
public enum SegmentState { Untried = 0, Good = 1, Bad = 2 }

/// <summary>A run of consecutive top-level nodes the search treats as one.</summary>
public struct Segment {
  /// <summary>Position of its first top-level node.</summary>
  public long Begin;
  /// <summary>Number of nodes.</summary>
  public long Size;
  public SegmentState State;
}

/// <summary>The state of a mixed-precision search after an attempt, valid during the
/// progress callback only.</summary>
public struct Progress {
  readonly IntPtr ptr;

  internal Progress(IntPtr ptr) { this.ptr = ptr; }

  /// <summary>Model runs so far.</summary>
  public long Evaluations { get { return Native.halfcast_progress_evaluations(ptr); } }

  public double ElapsedSeconds { get { return Native.halfcast_progress_elapsed_seconds(ptr); } }

  /// <summary>The segments in graph order.</summary>
  public IList<Segment> Segments {
    get {
      var segments = new List<Segment>();
      ulong count = (ulong)Native.halfcast_progress_segment_count(ptr);
      for (ulong i = 0; i < count; ++i) {
        UIntPtr begin, size;
        int state;
        if (Native.halfcast_progress_segment(ptr, (UIntPtr)i, out begin, out size, out state) != 0) {
          segments.Add(new Segment { Begin = (long)(ulong)begin, Size = (long)(ulong)size,
                                     State = (SegmentState)state });
        }
      }
      return segments;
    }
  }

  /// <summary>The segments as onnxconverter-common prints them: good sizes in *stars*, bad
  /// in (parentheses), untried plain.</summary>
  public string Text { get { return Native.Utf8(Native.halfcast_progress_text(ptr)); } }
}

/// <summary>Where an evaluator puts the outputs it computed (a set the library owns, valid
/// during the call).</summary>
public struct EvaluatorOutputs {
  readonly IntPtr ptr;

  internal EvaluatorOutputs(IntPtr ptr) { this.ptr = ptr; }

  /// <summary>Adds <paramref name="tensor"/> as the output <paramref name="name"/> (the library
  /// shares or copies its data; the tensor may be disposed after).</summary>
  public void Add(string name, Tensor tensor) {
    Native.Check(Native.halfcast_named_tensors_add_output(ptr, Native.CString(name), tensor.Handle));
  }
}

// The delegates one options object registered, and the exception one threw in the current
// call.
internal sealed class CallbackState {
  ExceptionDispatchInfo thrown;

  // Runs the callback unless an earlier one of this call threw; an exception is kept for
  // Rethrow and `fallback` returned.
  internal T Run<T>(T fallback, Func<T> callback) {
    return Run(callback, () => fallback);
  }

  internal T Run<T>(Func<T> callback, Func<T> fallback) {
    if (thrown != null) return fallback();
    try {
      return callback();
    } catch (Exception e) {
      thrown = ExceptionDispatchInfo.Capture(e);
      return fallback();
    }
  }

  internal bool Pending { get { return thrown != null; } }

  // Rethrows, with its stack trace, an exception a callback threw during the last call.
  internal void Rethrow() {
    var e = thrown;
    thrown = null;
    if (e != null) e.Throw();
  }

  internal Native.LogFn Log(Action<LogLevel, string> log) {
    return (level, message, userData) => Run(0, () => {
      log((LogLevel)level, Native.Utf8(message));
      return 0;
    });
  }

  internal Native.ValidateFn Validate(Func<TensorSet, TensorSet, bool> validate) {
    // -1 (an error) stops the search with Aborted.
    return (reference, candidate, userData) => Run(-1, () =>
        validate(new TensorSet(reference, null), new TensorSet(candidate, null)) ? 1 : 0);
  }

  internal Native.EvaluatorFn Evaluate(Action<byte[], TensorSet, EvaluatorOutputs> evaluate) {
    // A HalfcastException ends the search with its code and message; any other exception is
    // rethrown after the call (the search ends with Aborted).
    return (modelBytes, modelSize, feeds, outputs, userData) => Run(() => {
      var bytes = new byte[(long)(ulong)modelSize];
      if (bytes.Length > 0) Marshal.Copy(modelBytes, bytes, 0, bytes.Length);
      try {
        evaluate(bytes, new TensorSet(feeds, null), new EvaluatorOutputs(outputs));
        return IntPtr.Zero;
      } catch (HalfcastException e) {
        return Native.halfcast_status_create((int)e.Code, Native.CString(e.LibraryMessage.Replace('\0', ' ')));
      }
    }, () => Native.halfcast_status_create((int)StatusCode.Aborted,
                                           Native.CString("the evaluator threw an exception")));
  }

  internal Native.ProgressFn Progress(Func<Progress, bool> progress) {
    // Non-zero cancels the search.
    return (p, userData) => Run(1, () => progress(new Progress(p)) ? 0 : 1);
  }
}

}  // namespace Halfcast
