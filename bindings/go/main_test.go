package halfcast_test

import (
	"os"
	"testing"
)

// tempDir is a scratch folder for the examples, removed after the tests.
var tempDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "halfcast-go-")
	if err != nil {
		panic(err)
	}
	tempDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
