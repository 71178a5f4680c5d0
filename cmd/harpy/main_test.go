package main

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run this test binary as the real `harpy` command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"harpy": func() { os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			// Pass through what the real-tool scripts need.
			for _, k := range []string{"HARPY_TARBALLS", "HARPY_TEST_CACHE", "PATH"} {
				if v := os.Getenv(k); v != "" {
					e.Setenv(k, v)
				}
			}
			return nil
		},
	})
}
