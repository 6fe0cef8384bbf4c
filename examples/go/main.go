// halfcast from Go: convert a model to float16, then find a mixed-precision version whose output
// a validate function written in Go accepts. Usage: example MODEL.onnx OUT_DIR
// The model is the PaddleOCR text-direction classifier (input x: [1, 3, 48, 192]).
package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
)

func run(modelPath, outDir string) error {
	model, err := LoadModel(modelPath)
	if err != nil {
		return err
	}
	defer model.Close()

	fp16, report, err := model.ToFloat16(true)
	if err != nil {
		return err
	}
	defer fp16.Close()
	path := filepath.Join(outDir, "model.fp16.onnx")
	if err := fp16.Save(path); err != nil {
		return err
	}
	fmt.Printf("float16: %d nodes converted, saved to %s\n", report.NodesConverted, path)

	x := make([]float32, 3*48*192)
	for i := range x {
		x[i] = float32(math.Sin(0.001 * float64(i)))
	}
	calls := 0
	// Accept when every output is within 0.01 of float32's.
	validate := func(reference, candidate Outputs) bool {
		calls++
		for name, want := range reference {
			got, ok := candidate[name]
			if !ok || len(got) != len(want) {
				return false
			}
			for i := range want {
				if !(math.Abs(float64(got[i]-want[i])) <= 0.01) {
					return false
				}
			}
		}
		return true
	}
	mixed, report, err := model.AutoMixedPrecision("x", []int64{1, 3, 48, 192}, x, true, validate)
	if err != nil {
		return err
	}
	defer mixed.Close()
	fmt.Printf("mixed precision: %d nodes kept in float32, %d evaluations, %d validate calls\n",
		report.NodesKept, report.Evaluations, calls)
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
	if ABIVersion() != abiVersion {
		fmt.Fprintf(os.Stderr, "libhalfcast_c has ABI %d, binding %d\n", ABIVersion(), abiVersion)
		os.Exit(1)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "halfcast:", err)
		os.Exit(1)
	}
}
