package build

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"harpy/specs"
)

func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return dst
}

func seedPatch(t *testing.T) specs.Patch {
	cat, err := specs.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cat.Resolve(specs.Request{Version: "1.6.0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Patches) != 1 {
		t.Fatalf("1.6.0 patch queue = %v", p.Patches)
	}
	return p.Patches[0]
}

func TestPatchFixesSeedInitScript(t *testing.T) {
	tree := copyTree(t, "testdata/init-1.6.0")
	script := filepath.Join(tree, "examples", "haproxy.init")
	if err := exec.Command("sh", "-n", script).Run(); err == nil {
		t.Fatal("fixture should have the seed's syntax error before patching")
	}
	if err := ApplyQueue(tree, []specs.Patch{seedPatch(t)}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sh", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("patched script still broken: %v %s", err, out)
	}
	if st, _ := os.Stat(script); st.Mode().Perm() != 0o644 && st.Mode().Perm() != 0o755 {
		t.Errorf("mode changed to %v", st.Mode())
	}
}

func TestPatchFailureNamesPatchAndLeavesTreeAlone(t *testing.T) {
	fix := seedPatch(t)
	good := specs.Patch{Name: "0001-add.patch", Data: []byte("--- a/examples/haproxy.init\n+++ b/examples/haproxy.init\n@@ -1,1 +1,2 @@\n #!/bin/sh\n+# added\n")}
	for _, tc := range []struct {
		name  string
		queue []specs.Patch
		want  []string
	}{
		{"applied twice", []specs.Patch{fix, {Name: "again.patch", Data: fix.Data}}, []string{"patch again.patch", "examples/haproxy.init", "hunk #1", "@@ -94,7 +94,7 @@"}},
		{"good then bad", []specs.Patch{good, {Name: "bad.patch", Data: []byte("--- a/examples/haproxy.init\n+++ b/examples/haproxy.init\n@@ -3,1 +3,1 @@\n-no such line\n+x\n")}}, []string{"patch bad.patch", "hunk #1"}},
		{"missing file", []specs.Patch{{Name: "ghost.patch", Data: []byte("--- a/src/ghost.c\n+++ b/src/ghost.c\n@@ -1 +1 @@\n-a\n+b\n")}}, []string{"patch ghost.patch", "src/ghost.c"}},
		{"not a diff", []specs.Patch{{Name: "junk.patch", Data: []byte("hello\n")}}, []string{"patch junk.patch"}},
		{"escape", []specs.Patch{{Name: "evil.patch", Data: []byte("--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n")}}, []string{"patch evil.patch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := copyTree(t, "testdata/init-1.6.0")
			before, _ := os.ReadFile(filepath.Join(tree, "examples", "haproxy.init"))
			err := ApplyQueue(tree, tc.queue)
			if err == nil {
				t.Fatal("queue applied")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			after, _ := os.ReadFile(filepath.Join(tree, "examples", "haproxy.init"))
			if !bytes.Equal(before, after) {
				t.Error("a failed queue changed the tree")
			}
		})
	}
}

// The patched file replaces the old one atomically: same mode, no temporary left beside it.
func TestPatchKeepsModeAndLeavesNoTemporary(t *testing.T) {
	tree := t.TempDir()
	script := filepath.Join(tree, "run.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho one\n"), 0o750)
	p := specs.Patch{Name: "0001-two.patch", Data: []byte("--- a/run.sh\n+++ b/run.sh\n@@ -1,2 +1,2 @@\n #!/bin/sh\n-echo one\n+echo two\n")}
	if err := ApplyQueue(tree, []specs.Patch{p}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(script); string(b) != "#!/bin/sh\necho two\n" {
		t.Errorf("content %q", b)
	}
	if st, _ := os.Stat(script); st.Mode().Perm() != 0o750 {
		t.Errorf("mode %v, want 0750", st.Mode().Perm())
	}
	ents, _ := os.ReadDir(tree)
	if len(ents) != 1 {
		t.Errorf("tree holds %d entries after the patch, want 1", len(ents))
	}
}
