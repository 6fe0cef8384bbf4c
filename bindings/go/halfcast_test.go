package halfcast_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"halfcast.example/halfcast"
)

const classifier = "ch_ppocr_mobile_v2.0_cls_infer.onnx"

func modelPath(name string) string { return filepath.Join("..", "..", "tests", "data", "models", name) }

// must is value, failing the test (by a panic) on an error.
func must[T any](value T, err error) T {
	if err != nil {
		panic(err)
	}
	return value
}

// classifierFeeds is one run of the classifier (input x: [1, 3, 48, 192]).
func classifierFeeds(t *testing.T) *halfcast.Feeds {
	x := make([]float32, 3*48*192)
	for i := range x {
		x[i] = float32(math.Sin(0.001 * float64(i)))
	}
	tensor := must(halfcast.NewTensorOf([]int64{1, 3, 48, 192}, x))
	defer tensor.Close()
	inputs := must(halfcast.NewNamedTensors())
	defer inputs.Close()
	if err := inputs.Add("x", tensor); err != nil {
		t.Fatal(err)
	}
	return must(halfcast.NewFeeds(inputs))
}

// loadClassifier is the classifier and one run's feeds, closed when the test ends.
func loadClassifier(t *testing.T) (*halfcast.Model, *halfcast.Feeds) {
	model := must(halfcast.LoadModel(modelPath(classifier)))
	t.Cleanup(model.Close)
	feeds := classifierFeeds(t)
	t.Cleanup(feeds.Close)
	return model, feeds
}

func TestConvertReportsThroughTheLogFunc(t *testing.T) {
	model := must(halfcast.LoadModel(modelPath("silero_vad.onnx")))
	defer model.Close()
	options := must(halfcast.NewConvertOptions())
	defer options.Close()
	var infos []string
	if err := options.SetBool(halfcast.OptionKeepIOTypes, true); err != nil {
		t.Fatal(err)
	}
	if err := options.SetLogFunc(func(level halfcast.LogLevel, message string) {
		if level == halfcast.LogInfo {
			infos = append(infos, message)
		}
	}); err != nil {
		t.Fatal(err)
	}
	fp16, report, err := model.Convert(options)
	if err != nil {
		t.Fatal(err)
	}
	defer fp16.Close()
	defer report.Close()
	if report.NodesConverted() <= 0 || len(infos) == 0 || infos[0] == "" {
		t.Fatalf("%d nodes converted, info messages %q", report.NodesConverted(), infos)
	}

	// The result serializes, parses back and saves; being float16, it is refused when
	// converted again.
	data := must(fp16.Bytes())
	reloaded := must(halfcast.LoadModelBytes(data))
	defer reloaded.Close()
	path := filepath.Join(t.TempDir(), "silero_vad.fp16.onnx")
	if err := reloaded.Save(path); err != nil {
		t.Fatal(err)
	}
	if saved := must(os.ReadFile(path)); !bytes.Equal(saved, data) {
		t.Fatal("the saved file differs from the serialized model")
	}
	if _, _, err := reloaded.Convert(nil); halfcast.CodeOf(err) != halfcast.FailedPrecondition {
		t.Fatalf("converting a float16 model again: %v", err)
	}
	if json := string(must(report.JSON())); !strings.Contains(json, "nodes_converted") {
		t.Fatalf("report JSON: %s", json)
	}
}

func TestBlockListsKeepNodesAndTheReportSaysWhy(t *testing.T) {
	model := must(halfcast.LoadModel(modelPath(classifier)))
	defer model.Close()
	options := must(halfcast.NewConvertOptions())
	defer options.Close()
	if err := options.SetStrings(halfcast.OptionOpBlockList, []string{"Conv"}); err != nil {
		t.Fatal(err)
	}
	fp16, report, err := model.Convert(options)
	if err != nil {
		t.Fatal(err)
	}
	defer fp16.Close()
	kept := must(report.KeptNodes())
	if int64(len(kept)) != report.NodesKept() || len(kept) == 0 {
		t.Fatalf("%d kept nodes listed, %d counted", len(kept), report.NodesKept())
	}
	for _, node := range kept {
		if node.Reason == "op_block_list" && node.OpType != "Conv" {
			t.Fatalf("%+v kept by the op block list", node)
		}
	}
}

func TestMixedPrecisionIsJudgedByAGoFunction(t *testing.T) {
	model, feeds := loadClassifier(t)
	options := must(halfcast.NewMixedPrecisionOptions())
	defer options.Close()
	validations, attempts, sawGood := 0, 0, false
	if err := options.SetBool(halfcast.OptionKeepIOTypes, true); err != nil {
		t.Fatal(err)
	}
	err := options.SetValidateFunc(func(reference, candidate halfcast.TensorSet) bool {
		validations++
		for i := 0; i < reference.Len(); i++ {
			got, ok := candidate.Find(reference.Name(i))
			if !ok || got.ElementType() != halfcast.Float {
				t.Errorf("output %q: present %v, float32 %v", reference.Name(i), ok, ok && got.ElementType() == halfcast.Float)
				return false
			}
			want, _ := reference.Tensor(i).Float32s()
			values, _ := got.Float32s()
			for j := range want {
				if !(math.Abs(float64(values[j]-want[j])) <= 0.01) {
					return false
				}
			}
		}
		return reference.Len() > 0
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := options.SetProgressFunc(func(progress halfcast.Progress) bool {
		attempts++
		for _, segment := range progress.Segments() {
			sawGood = sawGood || segment.State == halfcast.SegmentGood
		}
		return progress.Text() != ""
	}); err != nil {
		t.Fatal(err)
	}
	mixed, report, err := model.AutoMixedPrecision(feeds, options)
	if err != nil {
		t.Fatal(err)
	}
	defer mixed.Close()
	defer report.Close()
	if validations < 2 || attempts < 1 || !sawGood || report.Evaluations() < 2 {
		t.Fatalf("%d validations, %d attempts, good segment %v, %d evaluations", validations,
			attempts, sawGood, report.Evaluations())
	}
	must(halfcast.LoadModelBytes(must(mixed.Bytes()))).Close()
}

func TestErrorsCarryTheLibraryCodeAndMessage(t *testing.T) {
	_, err := halfcast.LoadModel(modelPath("no_such_model.onnx"))
	var e *halfcast.Error
	if !errors.As(err, &e) || e.Code != halfcast.NotFound || !strings.Contains(e.Message, "no_such_model.onnx") {
		t.Fatalf("loading a missing file: %v", err)
	}
	if !errors.Is(err, &halfcast.Error{Code: halfcast.NotFound}) || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("errors.Is by code, or the code name in the text: %v", err)
	}
	if _, err := halfcast.LoadModelBytes([]byte("not an onnx model")); halfcast.CodeOf(err) != halfcast.InvalidArgument {
		t.Fatalf("parsing junk: %v", err)
	}
	if _, err := halfcast.NewTensorOf([]int64{2, 3}, make([]float32, 5)); halfcast.CodeOf(err) != halfcast.InvalidArgument {
		t.Fatalf("a tensor shorter than its shape: %v", err)
	}
	options := must(halfcast.NewConvertOptions())
	defer options.Close()
	if err := options.SetInt(halfcast.OptionKeepIOTypes, 1); halfcast.CodeOf(err) != halfcast.InvalidArgument {
		t.Fatalf("an int for a bool option: %v", err)
	}

	// No tolerance and no validate function.
	model, feeds := loadClassifier(t)
	mixedOptions := must(halfcast.NewMixedPrecisionOptions())
	defer mixedOptions.Close()
	if _, _, err := model.AutoMixedPrecision(feeds, mixedOptions); halfcast.CodeOf(err) != halfcast.InvalidArgument {
		t.Fatalf("mixed precision without a tolerance: %v", err)
	}
}

func TestAPanicInAValidateFunctionIsRaisedAgainInGo(t *testing.T) {
	model, feeds := loadClassifier(t)
	options := must(halfcast.NewMixedPrecisionOptions())
	defer options.Close()
	if err := options.SetValidateFunc(func(_, _ halfcast.TensorSet) bool { panic("validator gave up") }); err != nil {
		t.Fatal(err)
	}
	recovered := func() (r any) {
		defer func() { r = recover() }()
		model.AutoMixedPrecision(feeds, options)
		return nil
	}()
	if recovered != "validator gave up" {
		t.Fatalf("recovered %v", recovered)
	}

	// The options work again afterwards; a progress function returning false cancels.
	if err := options.SetValidateFunc(nil); err != nil {
		t.Fatal(err)
	}
	if err := options.SetFloat(halfcast.OptionRtol, 0.1); err != nil {
		t.Fatal(err)
	}
	if err := options.SetInt(halfcast.OptionStrategy, int64(halfcast.StrategyBisect)); err != nil {
		t.Fatal(err)
	}
	if err := options.SetProgressFunc(func(halfcast.Progress) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.AutoMixedPrecision(feeds, options); halfcast.CodeOf(err) != halfcast.Cancelled {
		t.Fatalf("a progress function asking to stop: %v", err)
	}
}

func TestGoroutinesShareAModel(t *testing.T) {
	model := must(halfcast.LoadModel(modelPath("silero_vad.onnx")))
	defer model.Close()
	counts := make([]int64, 2)
	var wait sync.WaitGroup
	for i := range counts {
		wait.Add(1)
		go func(i int) {
			defer wait.Done()
			fp16, report, err := model.Convert(nil)
			if err != nil {
				t.Error(err)
				return
			}
			counts[i] = report.NodesConverted()
			fp16.Close()
			report.Close()
		}(i)
	}
	wait.Wait()
	if counts[0] <= 0 || counts[0] != counts[1] {
		t.Fatalf("nodes converted: %v", counts)
	}
}

func TestConvertFileWithExternalData(t *testing.T) {
	output := filepath.Join(t.TempDir(), "classifier.onnx")
	save := must(halfcast.NewSaveOptions())
	defer save.Close()
	if err := save.SetExternalData(1024, ""); err != nil {
		t.Fatal(err)
	}
	report := must(halfcast.ConvertFile(modelPath(classifier), output, nil, save))
	defer report.Close()
	if side, err := os.Stat(output + ".data"); err != nil || side.Size() < 100000 || report.NodesConverted() <= 0 {
		t.Fatalf("side file %v (%v), %d nodes converted", side, err, report.NodesConverted())
	}
	must(halfcast.LoadModel(output)).Close()
}

func TestTheLoadedLibraryMatchesTheABIOfThePackage(t *testing.T) {
	if halfcast.LibraryABIVersion() != halfcast.ABIVersion {
		t.Fatalf("library ABI %d", halfcast.LibraryABIVersion())
	}
	err := halfcast.CheckABIVersion(halfcast.ABIVersion + 1)
	if halfcast.CodeOf(err) != halfcast.FailedPrecondition || !strings.Contains(err.Error(), "C ABI version 2") {
		t.Fatalf("another ABI: %v", err)
	}
	if len(strings.Split(halfcast.Version(), ".")) != 3 {
		t.Fatalf("version %q", halfcast.Version())
	}
}

func TestHalvesWidenExactly(t *testing.T) {
	for bits, want := range map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x7bff: 65504,
		0x0001: float32(math.Ldexp(1, -24)), 0x83ff: -float32(math.Ldexp(1023, -24))} {
		if got := halfcast.HalfToFloat32(bits); got != want {
			t.Errorf("%#04x: %v, want %v", bits, got, want)
		}
	}
	if !math.IsInf(float64(halfcast.HalfToFloat32(0x7c00)), 1) || !math.IsNaN(float64(halfcast.HalfToFloat32(0x7e00))) {
		t.Error("infinity or NaN")
	}
	if math.Float32bits(halfcast.HalfToFloat32(0x8000)) != 0x80000000 {
		t.Error("negative zero")
	}
}

// Run by bindings/run_tests.sh with a stand-in library of ABI 2 first on the loader's path.
func TestALibraryOfAnotherABIIsRefusedOnFirstUse(t *testing.T) {
	if os.Getenv("HALFCAST_TEST_FOREIGN_ABI") == "" {
		t.Skip("needs a libhalfcast_c of another ABI (bindings/foreign_abi_library.sh)")
	}
	if halfcast.LibraryABIVersion() != 2 {
		t.Fatalf("the stand-in library is not the one loaded: ABI %d", halfcast.LibraryABIVersion())
	}
	for i := 0; i < 2; i++ {
		_, err := halfcast.LoadModel(modelPath(classifier))
		if halfcast.CodeOf(err) != halfcast.FailedPrecondition ||
			!strings.Contains(err.Error(), "C ABI version 2, this package needs 1") {
			t.Fatalf("loading through a library of ABI 2: %v", err)
		}
		if _, err := halfcast.NewConvertOptions(); err == nil {
			t.Fatal("options created through a library of ABI 2")
		}
	}
}

// tinyInGo is tests/capi/data/tiny.onnx computed in Go: y = Relu(x @ W + b), x float32 [1, 4]
// (tests/capi/data/make_tiny.py), standing in for the caller's own runtime.
func tinyInGo(x []float32) []float32 {
	w := [4][4]float32{{0.5, -1, 2, 0.25}, {1.5, 0.75, -0.5, 1e-9}, {-2, 0.125, 1, 3}, {0, 2.5, -1.25, 2e4}}
	b := [4]float32{0.1, -0.2, 0.3, -0.4}
	y := make([]float32, 4)
	for j := range y {
		y[j] = b[j]
		for i := range x {
			y[j] += x[i] * w[i][j]
		}
		if y[j] < 0 {
			y[j] = 0
		}
	}
	return y
}

func TestMixedPrecisionRunsInAGoEvaluator(t *testing.T) {
	model := must(halfcast.LoadModel(filepath.Join("..", "..", "tests", "capi", "data", "tiny.onnx")))
	defer model.Close()
	x := must(halfcast.NewTensorOf([]int64{1, 4}, []float32{0.5, -1, 2, 0.001}))
	defer x.Close()
	inputs := must(halfcast.NewNamedTensors())
	defer inputs.Close()
	if err := inputs.Add("x", x); err != nil {
		t.Fatal(err)
	}
	feeds := must(halfcast.NewFeeds(inputs))
	defer feeds.Close()
	options := must(halfcast.NewMixedPrecisionOptions())
	defer options.Close()
	for _, err := range []error{options.SetBool(halfcast.OptionKeepIOTypes, true),
		options.SetFloat(halfcast.OptionRtol, 1e-3), options.SetFloat(halfcast.OptionAtol, 1e-4)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	err := options.SetEvaluateFunc(func(modelBytes []byte, feeds halfcast.TensorSet, outputs halfcast.EvaluatorOutputs) error {
		calls++
		candidate, err := halfcast.LoadModelBytes(modelBytes)
		if err != nil {
			return err
		}
		candidate.Close()
		x, ok := feeds.Find("x")
		values, isFloat := x.Float32s()
		if !ok || !isFloat {
			return errors.New("no float32 x")
		}
		y, err := halfcast.NewTensorOf([]int64{1, 4}, tinyInGo(values))
		if err != nil {
			return err
		}
		defer y.Close()
		return outputs.Add("y", y)
	})
	if err != nil {
		t.Fatal(err)
	}
	// This "runtime" computes in float32 whatever the model says, so everything validates.
	mixed, report, err := model.AutoMixedPrecision(feeds, options)
	if err != nil {
		t.Fatal(err)
	}
	mixed.Close()
	if calls < 2 || report.NodesKept() != 0 {
		t.Fatalf("%d evaluations, %d nodes kept", calls, report.NodesKept())
	}
	report.Close()

	// The runtime's error comes back with its code and message.
	options.SetEvaluateFunc(func([]byte, halfcast.TensorSet, halfcast.EvaluatorOutputs) error {
		return &halfcast.Error{Code: halfcast.Unavailable, Message: "runtime is gone"}
	})
	if _, _, err := model.AutoMixedPrecision(feeds, options); halfcast.CodeOf(err) != halfcast.Unavailable ||
		!strings.Contains(err.Error(), "runtime is gone") {
		t.Fatalf("a failing runtime: %v", err)
	}
	// A panic in it comes back as the panic.
	options.SetEvaluateFunc(func([]byte, halfcast.TensorSet, halfcast.EvaluatorOutputs) error { panic("runtime exploded") })
	recovered := func() (r any) {
		defer func() { r = recover() }()
		model.AutoMixedPrecision(feeds, options)
		return nil
	}()
	if recovered != "runtime exploded" {
		t.Fatalf("recovered %v", recovered)
	}
}
