// Tensors, named tensor sets (one run's inputs or outputs) and feeds (several runs' inputs).
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace Halfcast {

/// <summary>A tensor element type, numbered as onnx.TensorProto.DataType.</summary>
public enum ElementType {
  Undefined = 0,
  Float = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  Bool = 9,
  Float16 = 10,
  Double = 11,
  UInt32 = 12,
  UInt64 = 13,
  BFloat16 = 16
}

/// <summary>A dense tensor in C order owning a copy of its data.</summary>
public sealed class Tensor : IDisposable {
  internal readonly TensorHandle Handle;

  Tensor(TensorHandle handle) { Handle = handle; }

  /// <summary>A tensor of <paramref name="type"/> and shape <paramref name="dims"/> over the
  /// elements' bytes in host byte order (float16 and bfloat16 as ushort bit patterns), copied.
  /// A size that does not match the shape is InvalidArgument.</summary>
  public static Tensor Create(ElementType type, long[] dims, byte[] data) {
    Library.EnsureCompatible();
    TensorHandle handle;
    Native.Check(Native.halfcast_tensor_create((int)type, dims, (UIntPtr)dims.Length, data,
                                               (UIntPtr)data.Length, 0 /* COPY */, out handle));
    return new Tensor(handle);
  }

  /// <summary>A float32 tensor of shape <paramref name="dims"/> holding a copy of
  /// <paramref name="values"/>.</summary>
  public static Tensor FromFloats(long[] dims, float[] values) {
    return Create(ElementType.Float, dims, Bytes(values, values.Length * 4));
  }

  /// <summary>An int64 tensor of shape <paramref name="dims"/> holding a copy of
  /// <paramref name="values"/>.</summary>
  public static Tensor FromLongs(long[] dims, long[] values) {
    return Create(ElementType.Int64, dims, Bytes(values, values.Length * 8));
  }

  static byte[] Bytes(Array values, int size) {
    var bytes = new byte[size];
    Buffer.BlockCopy(values, 0, bytes, 0, size);
    return bytes;
  }

  /// <summary>A view of the tensor, valid until it is disposed.</summary>
  public TensorView View { get { return new TensorView(Handle.DangerousGetHandle(), this); } }

  public void Dispose() { Handle.Dispose(); }
}

/// <summary>A tensor borrowed from a <see cref="Tensor"/>, a <see cref="NamedTensors"/> or a
/// callback's arguments, valid while its owner is (for a callback: during the call).</summary>
public struct TensorView {
  readonly IntPtr ptr;
#pragma warning disable 414  // only held: keeps an owning Tensor or NamedTensors from finalization
  readonly object owner;
#pragma warning restore 414

  internal TensorView(IntPtr ptr, object owner) {
    this.ptr = ptr;
    this.owner = owner;
  }

  public ElementType ElementType { get { return (ElementType)Native.halfcast_tensor_element_type(ptr); } }

  /// <summary>A copy of the shape.</summary>
  public long[] Dims {
    get {
      var dims = new long[(int)(ulong)Native.halfcast_tensor_rank(ptr)];
      if (dims.Length > 0) Marshal.Copy(Native.halfcast_tensor_dims(ptr), dims, 0, dims.Length);
      return dims;
    }
  }

  /// <summary>The number of elements.</summary>
  public long Count { get { return Native.halfcast_tensor_element_count(ptr); } }

  /// <summary>A copy of the elements' bytes (C order, host byte order).</summary>
  public byte[] ToBytes() {
    var bytes = new byte[(int)(ulong)Native.halfcast_tensor_byte_size(ptr)];
    if (bytes.Length > 0) Marshal.Copy(Native.halfcast_tensor_data(ptr), bytes, 0, bytes.Length);
    return bytes;
  }

  /// <summary>A copy of the elements as float32 (float16, bfloat16 and double converted);
  /// null for another type.</summary>
  public float[] ToFloats() {
    int n = (int)Count;
    var values = new float[n];
    if (n == 0) return values;
    IntPtr data = Native.halfcast_tensor_data(ptr);
    switch (ElementType) {
      case ElementType.Float:
        Marshal.Copy(data, values, 0, n);
        return values;
      case ElementType.Double: {
        var doubles = new double[n];
        Marshal.Copy(data, doubles, 0, n);
        for (int i = 0; i < n; ++i) values[i] = (float)doubles[i];
        return values;
      }
      case ElementType.Float16:
      case ElementType.BFloat16: {
        var halves = new short[n];
        Marshal.Copy(data, halves, 0, n);
        bool bfloat = ElementType == ElementType.BFloat16;
        for (int i = 0; i < n; ++i) {
          ushort bits = (ushort)halves[i];
          values[i] = bfloat ? BitConverter.ToSingle(BitConverter.GetBytes(bits << 16), 0)
                             : Half.ToFloat(bits);
        }
        return values;
      }
      default:
        return null;
    }
  }
}

/// <summary>float16 bit patterns.</summary>
public static class Half {
  /// <summary>The value of a float16 bit pattern (exact: every half is a float).</summary>
  public static float ToFloat(ushort bits) {
    int exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
    bool negative = (bits & 0x8000) != 0;
    if (exponent == 0) {  // zero and subnormals: mantissa * 2^-24
      float value = mantissa * (1.0f / 16777216.0f);
      return negative ? -value : value;
    }
    int sign = negative ? unchecked((int)0x80000000) : 0;
    int rest = exponent == 0x1f ? 0x7f800000 | (mantissa << 13)
                                : ((exponent + 112) << 23) | (mantissa << 13);
    return BitConverter.ToSingle(BitConverter.GetBytes(sign | rest), 0);
  }
}

/// <summary>A set of tensors by name, ordered by name (byte-wise): one run's inputs.</summary>
public sealed class NamedTensors : IDisposable {
  internal readonly NamedTensorsHandle Handle;

  public NamedTensors() {
    Library.EnsureCompatible();
    Native.Check(Native.halfcast_named_tensors_create(out Handle));
  }

  /// <summary>Adds <paramref name="tensor"/> under <paramref name="name"/> (the set shares its
  /// data; the tensor may be disposed after). A name already present is AlreadyExists.</summary>
  public void Add(string name, Tensor tensor) {
    Native.Check(Native.halfcast_named_tensors_add(Handle, Native.CString(name), tensor.Handle));
  }

  /// <summary>A view of the set, valid until it is disposed.</summary>
  public TensorSet View { get { return new TensorSet(Handle.DangerousGetHandle(), this); } }

  public void Dispose() { Handle.Dispose(); }
}

/// <summary>A named tensor set borrowed from a <see cref="NamedTensors"/> or a callback's
/// arguments, valid while its owner is (for a callback: during the call).</summary>
public struct TensorSet {
  readonly IntPtr ptr;
  readonly object owner;  // keeps an owning NamedTensors from being finalized

  internal TensorSet(IntPtr ptr, object owner) {
    this.ptr = ptr;
    this.owner = owner;
  }

  public int Count { get { return (int)(ulong)Native.halfcast_named_tensors_count(ptr); } }

  /// <summary>The name of tensor <paramref name="index"/>, in name order.</summary>
  public string Name(int index) {
    return Native.Utf8(Native.halfcast_named_tensors_name(ptr, (UIntPtr)index));
  }

  /// <summary>Tensor <paramref name="index"/> (0 &lt;= index &lt; Count).</summary>
  public TensorView this[int index] {
    get {
      if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException("index");
      return new TensorView(Native.halfcast_named_tensors_tensor(ptr, (UIntPtr)index), owner);
    }
  }

  /// <summary>The tensor named <paramref name="name"/>, if present.</summary>
  public bool TryGet(string name, out TensorView tensor) {
    IntPtr found = Native.halfcast_named_tensors_find(ptr, Native.CString(name));
    tensor = new TensorView(found, owner);
    return found != IntPtr.Zero;
  }

  /// <summary>The names, in order.</summary>
  public IList<string> Names {
    get {
      var names = new List<string>();
      for (int i = 0; i < Count; ++i) names.Add(Name(i));
      return names;
    }
  }
}

/// <summary>Test inputs for mixed precision: one <see cref="NamedTensors"/> per run.</summary>
public sealed class Feeds : IDisposable {
  internal readonly FeedsHandle Handle;

  /// <summary>Feeds holding the given runs' inputs (sharing their tensors' data).</summary>
  public Feeds(params NamedTensors[] runs) {
    Library.EnsureCompatible();
    Native.Check(Native.halfcast_feeds_create(out Handle));
    foreach (var run in runs) Add(run);
  }

  /// <summary>Appends one run's inputs.</summary>
  public void Add(NamedTensors run) { Native.Check(Native.halfcast_feeds_add(Handle, run.Handle)); }

  public int Count { get { return (int)(ulong)Native.halfcast_feeds_count(Handle); } }

  public void Dispose() { Handle.Dispose(); }
}

}  // namespace Halfcast
