// Tests of the Halfcast binding against the built libhalfcast_c: conversions of tests/data
// models, mixed precision judged by C# delegates, errors and exceptions. A small harness (no
// NuGet here): each test is a method; the program prints one line per test and exits non-zero
// if any failed. Usage: mono HalfcastTests.exe MODELS_DIR SCRATCH_DIR
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Halfcast;

static class HalfcastTests {
  const string Classifier = "ch_ppocr_mobile_v2.0_cls_infer.onnx";
  static string models, scratch;

  static void Require(bool condition, string what) {
    if (!condition) throw new Exception("expected: " + what);
  }

  static HalfcastException Throws(Action action) {
    try {
      action();
    } catch (HalfcastException e) {
      return e;
    }
    throw new Exception("expected a HalfcastException");
  }

  static string ModelPath(string name) { return Path.Combine(models, name); }

  // One run of the classifier (input x: [1, 3, 48, 192]).
  static Feeds ClassifierFeeds() {
    var x = new float[3 * 48 * 192];
    for (int i = 0; i < x.Length; ++i) x[i] = (float)Math.Sin(0.001 * i);
    using (var tensor = Tensor.FromFloats(new long[] {1, 3, 48, 192}, x))
    using (var inputs = new NamedTensors()) {
      inputs.Add("x", tensor);
      return new Feeds(inputs);
    }
  }

  static void ConvertsReportingThroughTheLogCallback() {
    var infos = new List<string>();
    using (var model = Model.Load(ModelPath("silero_vad.onnx")))
    using (var options = new ConvertOptions())
    using (var converted = model.Convert(options.SetBool(OptionKey.KeepIoTypes, true).SetLog((level, message) => {
             if (level == LogLevel.Info) infos.Add(message);
           }))) {
      Require(converted.Report.NodesConverted > 0, "nodes converted");
      Require(infos.Count > 0 && infos[0].Length > 0, "an info message");

      // The result serializes, parses back and saves; being float16, converting it again is
      // refused.
      byte[] bytes = converted.Model.ToBytes();
      using (var reloaded = Model.FromBytes(bytes)) {
        string path = Path.Combine(scratch, "silero_vad.fp16.onnx");
        reloaded.Save(path);
        Require(File.ReadAllBytes(path).SequenceEqual(bytes), "the saved file is the serialized model");
        Require(Throws(() => reloaded.Convert()).Code == StatusCode.FailedPrecondition,
                "a float16 model is refused");
      }
      Require(converted.Report.ToJson().Contains("nodes_converted"), "the report as JSON");
    }
  }

  static void BlockListsKeepNodesAndTheReportSaysWhy() {
    using (var model = Model.Load(ModelPath(Classifier)))
    using (var options = new ConvertOptions().SetStrings(OptionKey.OpBlockList, "Conv"))
    using (var converted = model.Convert(options)) {
      var kept = converted.Report.KeptNodes;
      Require(kept.Count > 0 && kept.Count == converted.Report.NodesKept, "kept nodes listed");
      Require(kept.All(n => n.Reason != "op_block_list" || n.OpType == "Conv"), "only Conv by the op block list");
    }
  }

  static void MixedPrecisionIsJudgedByACSharpDelegate() {
    int validations = 0, attempts = 0;
    bool sawGood = false;
    using (var model = Model.Load(ModelPath(Classifier)))
    using (var feeds = ClassifierFeeds())
    using (var options = new MixedPrecisionOptions()) {
      options.SetBool(OptionKey.KeepIoTypes, true).SetValidate((reference, candidate) => {
        ++validations;
        Require(reference.Count > 0, "outputs");
        for (int i = 0; i < reference.Count; ++i) {
          TensorView got;
          Require(candidate.TryGet(reference.Name(i), out got), "the candidate has every output");
          Require(got.ElementType == ElementType.Float, "keep_io_types");
          float[] want = reference[i].ToFloats(), values = got.ToFloats();
          for (int j = 0; j < want.Length; ++j) {
            if (!(Math.Abs(values[j] - want[j]) <= 0.01)) return false;
          }
        }
        return true;
      }).SetProgress(progress => {
        ++attempts;
        sawGood |= progress.Segments.Any(s => s.State == SegmentState.Good);
        return progress.Text.Length > 0;
      });
      using (var mixed = model.AutoMixedPrecision(feeds, options)) {
        Require(validations >= 2 && attempts >= 1 && sawGood, "validations " + validations + ", attempts " + attempts);
        Require(mixed.Report.Evaluations >= 2, "evaluations");
        Model.FromBytes(mixed.Model.ToBytes()).Dispose();
      }
    }
  }

  static void ErrorsCarryTheLibraryCodeAndMessage() {
    var missing = Throws(() => Model.Load(ModelPath("no_such_model.onnx")));
    Require(missing.Code == StatusCode.NotFound && missing.LibraryMessage.Contains("no_such_model.onnx"),
            "not found, naming the file: " + missing.Message);
    Require(missing.Message.Contains("not_found"), "the code's name in the message");
    Require(Throws(() => Model.FromBytes(new byte[] {1, 2, 3})).Code == StatusCode.InvalidArgument, "junk bytes");
    Require(Throws(() => Tensor.FromFloats(new long[] {2, 3}, new float[5])).Code == StatusCode.InvalidArgument,
            "a tensor shorter than its shape");
    using (var options = new ConvertOptions()) {
      Require(Throws(() => options.SetInt(OptionKey.KeepIoTypes, 1)).Code == StatusCode.InvalidArgument,
              "an int for a bool option");
    }
    // No tolerance and no validate callback.
    using (var model = Model.Load(ModelPath(Classifier)))
    using (var feeds = ClassifierFeeds())
    using (var options = new MixedPrecisionOptions()) {
      Require(Throws(() => model.AutoMixedPrecision(feeds, options)).Code == StatusCode.InvalidArgument,
              "mixed precision without a tolerance");
    }
  }

  class ValidatorGaveUp : Exception {}

  static void AnExceptionInAValidateDelegateIsRethrown() {
    using (var model = Model.Load(ModelPath(Classifier)))
    using (var feeds = ClassifierFeeds())
    using (var options = new MixedPrecisionOptions()) {
      options.SetValidate((reference, candidate) => { throw new ValidatorGaveUp(); });
      bool rethrown = false;
      try {
        model.AutoMixedPrecision(feeds, options);
      } catch (ValidatorGaveUp) {
        rethrown = true;
      }
      Require(rethrown, "the delegate's exception comes back");

      // The options work again afterwards; a progress delegate returning false cancels.
      options.SetValidate(null).SetDouble(OptionKey.Rtol, 0.1).SetInt(OptionKey.Strategy, (long)Strategy.Bisect);
      options.SetProgress(progress => false);
      Require(Throws(() => model.AutoMixedPrecision(feeds, options)).Code == StatusCode.Cancelled,
              "a progress delegate asking to stop");
    }
  }

  // tests/capi/data/tiny.onnx computed in C#: y = Relu(x @ W + b), x float32 [1, 4]
  // (tests/capi/data/make_tiny.py), standing in for the caller's own runtime.
  static float[] TinyInCSharp(float[] x) {
    var w = new float[,] {{0.5f, -1, 2, 0.25f}, {1.5f, 0.75f, -0.5f, 1e-9f}, {-2, 0.125f, 1, 3}, {0, 2.5f, -1.25f, 2e4f}};
    var b = new float[] {0.1f, -0.2f, 0.3f, -0.4f};
    var y = new float[4];
    for (int j = 0; j < 4; ++j) {
      y[j] = b[j];
      for (int i = 0; i < 4; ++i) y[j] += x[i] * w[i, j];
      y[j] = Math.Max(y[j], 0);
    }
    return y;
  }

  class RuntimeExploded : Exception {}

  static void MixedPrecisionRunsInACSharpEvaluator() {
    int calls = 0;
    using (var model = Model.Load(Path.Combine(models, "..", "..", "capi", "data", "tiny.onnx")))
    using (var x = Tensor.FromFloats(new long[] {1, 4}, new float[] {0.5f, -1, 2, 0.001f}))
    using (var inputs = new NamedTensors())
    using (var options = new MixedPrecisionOptions()) {
      inputs.Add("x", x);
      using (var feeds = new Feeds(inputs)) {
        options.SetBool(OptionKey.KeepIoTypes, true).SetDouble(OptionKey.Rtol, 1e-3).SetDouble(OptionKey.Atol, 1e-4);
        options.SetEvaluate((modelBytes, runFeeds, outputs) => {
          ++calls;
          Model.FromBytes(modelBytes).Dispose();
          TensorView input;
          Require(runFeeds.TryGet("x", out input) && input.ElementType == ElementType.Float, "float32 x");
          using (var y = Tensor.FromFloats(new long[] {1, 4}, TinyInCSharp(input.ToFloats()))) outputs.Add("y", y);
        });
        // This "runtime" computes in float32 whatever the model says, so everything validates.
        using (var mixed = model.AutoMixedPrecision(feeds, options)) {
          Require(calls >= 2 && mixed.Report.NodesKept == 0, calls + " evaluations");
        }
        // The runtime's error comes back with its code and message.
        options.SetEvaluate((modelBytes, runFeeds, outputs) => {
          throw new HalfcastException(StatusCode.Unavailable, "runtime is gone");
        });
        var gone = Throws(() => model.AutoMixedPrecision(feeds, options));
        Require(gone.Code == StatusCode.Unavailable && gone.LibraryMessage.Contains("runtime is gone"),
                "the runtime's error: " + gone.Message);
        // Another exception comes back as itself.
        options.SetEvaluate((modelBytes, runFeeds, outputs) => { throw new RuntimeExploded(); });
        bool rethrown = false;
        try {
          model.AutoMixedPrecision(feeds, options);
        } catch (RuntimeExploded) {
          rethrown = true;
        }
        Require(rethrown, "the evaluator's exception comes back");
      }
    }
  }

  static void ThreadsShareAModel() {
    using (var model = Model.Load(ModelPath("silero_vad.onnx"))) {
      var counts = new long[2];
      var threads = Enumerable.Range(0, 2).Select(i => new Thread(() => {
        using (var converted = model.Convert()) counts[i] = converted.Report.NodesConverted;
      })).ToList();
      threads.ForEach(t => t.Start());
      threads.ForEach(t => t.Join());
      Require(counts[0] > 0 && counts[0] == counts[1], "equal conversions: " + counts[0] + ", " + counts[1]);
    }
  }

  static void ConvertsFileToFileWithExternalData() {
    string output = Path.Combine(scratch, "classifier.external.onnx");
    using (var save = new SaveOptions().SetExternalData(1024))
    using (var report = Model.ConvertFile(ModelPath(Classifier), output, null, save)) {
      Require(report.NodesConverted > 0, "nodes converted");
      Require(new FileInfo(output + ".data").Length > 100000, "the weights in the side file");
      Model.Load(output).Dispose();
    }
    Require(Throws(() => Model.ConvertFile(ModelPath("none.onnx"), output)).Code == StatusCode.NotFound,
            "a missing input file");
  }

  static void TheLoadedLibraryMatchesTheAbiOfTheBinding() {
    Require(Library.LoadedAbiVersion == Library.AbiVersion, "ABI " + Library.LoadedAbiVersion);
    var other = Throws(() => Library.CheckAbiVersion(Library.AbiVersion + 1));
    Require(other.Code == StatusCode.FailedPrecondition && other.Message.Contains("C ABI version 2"),
            "another ABI refused: " + other.Message);
    Require(Library.Version.Split('.').Length == 3, "version " + Library.Version);
  }

  static void HalvesWidenExactly() {
    Require(Half.ToFloat(0x3c00) == 1 && Half.ToFloat(0xc000) == -2 && Half.ToFloat(0x7bff) == 65504, "normal");
    Require(Half.ToFloat(0x0001) == (float)Math.Pow(2, -24) && Half.ToFloat(0x83ff) == -1023 * (float)Math.Pow(2, -24),
            "subnormal");
    Require(float.IsPositiveInfinity(Half.ToFloat(0x7c00)) && float.IsNaN(Half.ToFloat(0x7e00)), "inf, NaN");
    Require(BitConverter.GetBytes(Half.ToFloat(0x8000))[3] == 0x80, "negative zero");
  }

  // Run (alone, by --foreign-abi) with a stand-in library of ABI 2 first on the loader's path.
  static void ALibraryOfAnotherAbiIsRefusedOnFirstUse() {
    Require(Library.LoadedAbiVersion == 2, "the stand-in library is the one loaded");
    for (int i = 0; i < 2; ++i) {
      var e = Throws(() => Model.Load(ModelPath(Classifier)));
      Require(e.Code == StatusCode.FailedPrecondition && e.Message.Contains("C ABI version 2, this binding needs 1"),
              "refused: " + e.Message);
      Throws(() => new ConvertOptions());
    }
  }

  static int Main(string[] args) {
    if (args.Length != 2 && !(args.Length == 3 && args[2] == "--foreign-abi")) {
      Console.Error.WriteLine("usage: HalfcastTests.exe MODELS_DIR SCRATCH_DIR [--foreign-abi]");
      return 2;
    }
    models = args[0];
    scratch = args[1];
    Directory.CreateDirectory(scratch);
    var tests = args.Length == 3 ? new Dictionary<string, Action> {
      {"ALibraryOfAnotherAbiIsRefusedOnFirstUse", ALibraryOfAnotherAbiIsRefusedOnFirstUse},
    } : new Dictionary<string, Action> {
      {"ConvertsReportingThroughTheLogCallback", ConvertsReportingThroughTheLogCallback},
      {"BlockListsKeepNodesAndTheReportSaysWhy", BlockListsKeepNodesAndTheReportSaysWhy},
      {"MixedPrecisionIsJudgedByACSharpDelegate", MixedPrecisionIsJudgedByACSharpDelegate},
      {"ErrorsCarryTheLibraryCodeAndMessage", ErrorsCarryTheLibraryCodeAndMessage},
      {"AnExceptionInAValidateDelegateIsRethrown", AnExceptionInAValidateDelegateIsRethrown},
      {"MixedPrecisionRunsInACSharpEvaluator", MixedPrecisionRunsInACSharpEvaluator},
      {"ThreadsShareAModel", ThreadsShareAModel},
      {"ConvertsFileToFileWithExternalData", ConvertsFileToFileWithExternalData},
      {"TheLoadedLibraryMatchesTheAbiOfTheBinding", TheLoadedLibraryMatchesTheAbiOfTheBinding},
      {"HalvesWidenExactly", HalvesWidenExactly},
    };
    int failed = 0;
    foreach (var test in tests) {
      try {
        test.Value();
        Console.WriteLine("PASS " + test.Key);
      } catch (Exception e) {
        ++failed;
        Console.WriteLine("FAIL " + test.Key + ": " + e);
      }
    }
    Console.WriteLine(failed == 0 ? "all " + tests.Count + " tests passed" : failed + " of " + tests.Count + " tests failed");
    return failed == 0 ? 0 : 1;
  }
}
