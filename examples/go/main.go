// halfcast from Go: convert a model to float16, then find a mixed-precision version whose output
// a validate function written in Go accepts. Usage: example MODEL.onnx OUT_DIR
// The model is the PaddleOCR text-direction classifier (input x: [1, 3, 48, 192]).
package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"halfcast.example/halfcast"
)

func run(modelPath, outDir string) error {
	model, err := halfcast.LoadModel(modelPath)
	if err != nil {
		return err
	}
	defer model.Close()

	options, err := halfcast.NewConvertOptions()
	if err != nil {
		return err
	}
	defer options.Close()
	if err := options.SetBool(halfcast.OptionKeepIOTypes, true); err != nil {
		return err
	}
	fp16, report, err := model.Convert(options)
	if err != nil {
		return err
	}
	defer fp16.Close()
	defer report.Close()
	path := filepath.Join(outDir, "model.fp16.onnx")
	if err := fp16.Save(path); err != nil {
		return err
	}
	fmt.Printf("float16: %d nodes converted, saved to %s\n", report.NodesConverted(), path)

	x := make([]float32, 3*48*192)
	for i := range x {
		x[i] = float32(math.Sin(0.001 * float64(i)))
	}
	tensor, err := halfcast.NewTensorOf([]int64{1, 3, 48, 192}, x)
	if err != nil {
		return err
	}
	defer tensor.Close()
	inputs, err := halfcast.NewNamedTensors()
	if err != nil {
		return err
	}
	defer inputs.Close()
	if err := inputs.Add("x", tensor); err != nil {
		return err
	}
	feeds, err := halfcast.NewFeeds(inputs)
	if err != nil {
		return err
	}
	defer feeds.Close()

	mixedOptions, err := halfcast.NewMixedPrecisionOptions()
	if err != nil {
		return err
	}
	defer mixedOptions.Close()
	if err := mixedOptions.SetBool(halfcast.OptionKeepIOTypes, true); err != nil {
		return err
	}
	calls := 0
	// Accept when every output is within 0.01 of float32's.
	err = mixedOptions.SetValidateFunc(func(reference, candidate halfcast.TensorSet) bool {
		calls++
		for i := 0; i < reference.Len(); i++ {
			want, _ := reference.Tensor(i).Float32s()
			tensor, ok := candidate.Find(reference.Name(i))
			got, isFloat := tensor.Float32s()
			if !ok || !isFloat || len(got) != len(want) {
				return false
			}
			for j := range want {
				if !(math.Abs(float64(got[j]-want[j])) <= 0.01) {
					return false
				}
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	mixed, mixedReport, err := model.AutoMixedPrecision(feeds, mixedOptions)
	if err != nil {
		return err
	}
	defer mixed.Close()
	defer mixedReport.Close()
	fmt.Printf("mixed precision: %d nodes kept in float32, %d evaluations, %d validate calls\n",
		mixedReport.NodesKept(), mixedReport.Evaluations(), calls)
	if calls == 0 {
		return fmt.Errorf("the validate function was never called")
	}
	return nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: %s MODEL.onnx OUT_DIR\n", os.Args[0])
		os.Exit(2)
	}
	// The package checks the library's ABI version on first use: a mismatch is an error here.
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "halfcast:", err)
		os.Exit(1)
	}
}
