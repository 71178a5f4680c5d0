package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/spf13/cobra"
)

// TestPackageStepFlags: `--format` turns the flags into the pipeline's package
// step; without it there is none.
func TestPackageStepFlags(t *testing.T) {
	var pf packageFlags
	cmd := &cobra.Command{Use: "build", RunE: func(*cobra.Command, []string) error { return nil }}
	pf.registerBuild(cmd.Flags())
	cmd.SetContext(context.Background())
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.ParseFlags([]string{"--dist", "el8", "--release", "7", "--out", "pkgs"}); err != nil {
		t.Fatal(err)
	}
	if st, err := pf.step(cmd, ""); st != nil || err != nil {
		t.Fatalf("no --format: step %v, %v", st, err)
	}
	if err := cmd.ParseFlags([]string{"--format", "rpm,deb"}); err != nil {
		t.Fatal(err)
	}
	st, err := pf.step(cmd, "")
	if err != nil {
		t.Fatal(err)
	}
	o := st.Options
	if o.Dist != "el8" || o.Release != "7" || o.OutDir != "pkgs" || len(o.Formats) != 2 || len(o.Config) == 0 || o.Version != "" {
		t.Errorf("options: %+v", o)
	}
	if cmd.Flags().Lookup("stage") != nil {
		t.Error("harpy build must not take --stage")
	}
}
