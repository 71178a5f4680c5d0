package main

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"harpy/internal/testenv"
	"harpy/specs"
)

// TestMain lets testscript run this test binary as the real `harpy` command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"harpy": func() { os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
		// harpy-rc runs harpy and prints its exit code, so scripts can pin the code itself.
		"harpy-rc": func() {
			fmt.Fprintf(os.Stderr, "[exit %d]\n", Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
			os.Exit(0)
		},
	})
}

func TestScripts(t *testing.T) {
	// Scripts that fetch the real release tarballs, compile or run real tools begin with
	// `[short] skip`; the rest are the fast tier. They share the tests' build cache.
	if !testing.Short() {
		testenv.Tarball(t, specs.Default)
	}
	tarballs, cache := testenv.TarballDir(t), testenv.CacheDir(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("HARPY_TARBALLS", tarballs)
			e.Setenv("HARPY_TEST_CACHE", cache)
			e.Setenv("PATH", os.Getenv("PATH"))
			return nil
		},
	})
}
