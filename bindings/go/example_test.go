package halfcast_test

import (
	"fmt"
	"path/filepath"

	"halfcast.example/halfcast"
)

// Convert a model to float16, keeping float32 inputs and outputs.
func ExampleModel_Convert() {
	model, err := halfcast.LoadModel(modelPath("silero_vad.onnx"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer model.Close()
	options, _ := halfcast.NewConvertOptions()
	defer options.Close()
	options.SetBool(halfcast.OptionKeepIOTypes, true)
	fp16, report, err := model.Convert(options)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fp16.Close()
	defer report.Close()
	fmt.Println(report.NodesConverted() > 0, fp16.Save(filepath.Join(tempDir, "silero_vad.fp16.onnx")))
	// Output: true <nil>
}

// Errors carry the library's code.
func ExampleCodeOf() {
	_, err := halfcast.LoadModel("no_such_model.onnx")
	fmt.Println(halfcast.CodeOf(err) == halfcast.NotFound, halfcast.CodeOf(err))
	// Output: true not_found
}
