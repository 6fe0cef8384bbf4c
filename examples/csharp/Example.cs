// halfcast from C#: a user of the Halfcast binding (bindings/dotnet). Converts a model to
// float16, then finds a mixed-precision version whose output a validate delegate accepts.
//   bindings/dotnet/build.sh out && mcs -r:out/Halfcast.dll -out:out/example.exe Example.cs
//   mono out/example.exe MODEL.onnx OUT_DIR
// (libhalfcast_c.so.1 must be on the loader's path, e.g. LD_LIBRARY_PATH=<prefix>/lib.)
// The model is the PaddleOCR text-direction classifier (input x: [1, 3, 48, 192]).
using System;
using System.IO;
using Halfcast;

public static class Example {
  public static int Main(string[] args) {
    if (args.Length != 2) {
      Console.Error.WriteLine("usage: example.exe MODEL.onnx OUT_DIR");
      return 2;
    }
    // The binding checks the library's ABI version on first use: a mismatch throws here.
    try {
      return Run(args[0], args[1]);
    } catch (HalfcastException e) {
      Console.Error.WriteLine("halfcast: " + e.Message);
      return 1;
    }
  }

  static int Run(string modelPath, string outDir) {
    using (var model = Model.Load(modelPath)) {
      string path = Path.Combine(outDir, "model.fp16.onnx");
      using (var options = new ConvertOptions().SetBool(OptionKey.KeepIoTypes, true))
      using (var fp16 = model.Convert(options)) {
        fp16.Model.Save(path);
        Console.WriteLine("float16: " + fp16.Report.NodesConverted + " nodes converted, saved to " + path);
      }

      var x = new float[3 * 48 * 192];
      for (int i = 0; i < x.Length; ++i) x[i] = (float)Math.Sin(0.001 * i);
      int calls = 0;
      using (var tensor = Tensor.FromFloats(new long[] {1, 3, 48, 192}, x))
      using (var inputs = new NamedTensors())
      using (var feeds = new Feeds())
      using (var options = new MixedPrecisionOptions()) {
        inputs.Add("x", tensor);
        feeds.Add(inputs);
        // Accept when every output is within 0.01 of float32's.
        options.SetBool(OptionKey.KeepIoTypes, true).SetValidate((reference, candidate) => {
          ++calls;
          for (int i = 0; i < reference.Count; ++i) {
            TensorView got;
            if (!candidate.TryGet(reference.Name(i), out got)) return false;
            float[] want = reference[i].ToFloats(), values = got.ToFloats();
            if (want == null || values == null || values.Length != want.Length) return false;
            for (int j = 0; j < want.Length; ++j) {
              if (!(Math.Abs(values[j] - want[j]) <= 0.01)) return false;
            }
          }
          return true;
        });
        using (var mixed = model.AutoMixedPrecision(feeds, options)) {
          Console.WriteLine("mixed precision: " + mixed.Report.NodesKept + " nodes kept in float32, " +
                            mixed.Report.Evaluations + " evaluations, " + calls + " validate calls");
        }
      }
      return calls > 0 ? 0 : 1;
    }
  }
}
