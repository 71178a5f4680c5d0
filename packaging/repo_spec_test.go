package packaging

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"harpy/hint"
	"harpy/internal/testenv"
)

// TestRepo: createrepo_c makes the repository and dnf, confined to its own
// installroot, cache and config, lists the package from it.
func TestRepo(t *testing.T) {
	o := testOptions(t, "el9")
	pkg := build1(t, o)
	rpms, err := MakeRepo(t.Context(), o.OutDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rpms) != 1 || rpms[0] != pkg {
		t.Fatalf("MakeRepo listed %v", rpms)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "log"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := run(t, "dnf", "--installroot="+root, "--setopt=reposdir=/dev/null",
		"--setopt=cachedir="+filepath.Join(root, "cache"), "--setopt=persistdir="+filepath.Join(root, "persist"),
		"--setopt=logdir="+filepath.Join(root, "log"), "--releasever=9", "--nogpgcheck",
		"--repofrompath=harpy,file://"+o.OutDir, "--repo=harpy", "list", "--available")
	if !regexpLine(out, "haproxy.x86_64", "2.6.12-1.el9", "harpy") {
		t.Errorf("dnf list --available does not show the package:\n%s", out)
	}
	// A second run updates the repository in place.
	if _, err := MakeRepo(t.Context(), o.OutDir); err != nil {
		t.Fatalf("MakeRepo --update: %v", err)
	}
	for _, bad := range []string{t.TempDir(), "/nonexistent/repo", pkg} {
		if _, err := MakeRepo(t.Context(), bad); err == nil || hint.Of(err) == "" {
			t.Errorf("MakeRepo(%s): %v, want an error with a hint", bad, err)
		}
	}
}

func regexpLine(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		if slices.Equal(strings.Fields(line), fields) {
			return true
		}
	}
	return false
}

// TestSpec: rpmbuild builds the exported spec here and its RPM has the native
// RPM's file list (modes, owners, flags), scriptlets, ELF Requires and tags;
// signed with rpmsign, rpmlint finds no error in it.
func TestSpec(t *testing.T) {
	testenv.Tool(t, "rpmbuild")
	home, _, public := gpgKey(t, "")
	o := testOptions(t, "el9")
	native := build1(t, o)
	dir := t.TempDir()
	res, err := ExportSpec(t.Context(), o, dir)
	if err != nil {
		t.Fatal(err)
	}
	top := t.TempDir()
	runIn(t, dir, []string{"SOURCE_DATE_EPOCH=1700000000"}, "rpmbuild", "-bb", "--nodeps",
		"--define", "_topdir "+top, "--define", "_sourcedir "+dir, res.Spec)
	built, _ := filepath.Glob(filepath.Join(top, "RPMS", "*", "*.rpm"))
	if len(built) != 1 || filepath.Base(built[0]) != filepath.Base(native) {
		t.Fatalf("rpmbuild made %v, want %s", built, filepath.Base(native))
	}
	spec := built[0]
	for _, q := range [][]string{
		{"--qf", fileQuery},
		{"--scripts"},
		{"--qf", "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{PACKAGER}|%{GROUP}|%{VENDOR}|%{URL}|%{LICENSE}|%{SUMMARY}|%{DESCRIPTION}|%{BUILDHOST}|%{BUILDTIME}"},
		{"--changelog"},
		{"--qf", "[%{FILEMTIMES}\n]"},
	} {
		a, b := run(t, "rpm", append(append([]string{"-qp"}, q...), native)...), run(t, "rpm", append(append([]string{"-qp"}, q...), spec)...)
		if a != b {
			t.Errorf("rpm -qp %v differs:\n--- native\n%s\n--- rpmbuild\n%s", q, a, b)
		}
	}
	// Requires: the same set, apart from what rpmbuild adds about its own
	// payload format (rpmlib(...)) and its config() self-requirement.
	set := func(pkg string) []string {
		var out []string
		for _, r := range strings.Split(strings.TrimSpace(run(t, "rpm", "-qp", "--requires", pkg)), "\n") {
			if !strings.HasPrefix(r, "rpmlib(") && !strings.HasPrefix(r, "config(") && !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
		slices.Sort(out)
		return out
	}
	if a, b := set(native), set(spec); !slices.Equal(a, b) {
		t.Errorf("Requires differ:\n native  %v\n rpmbuild %v", a, b)
	}

	// Sign with the real rpmsign and lint: no error at all (relative payload names).
	runIn(t, "", []string{"GNUPGHOME=" + home}, "rpmsign", "--addsign", "--define", "_gpg_name test@localhost", "--define", "__gpg "+testenv.Tool(t, "gpg"), spec)
	errs, warns, out := rpmlint(t, spec, public)
	if len(errs) > 0 {
		t.Errorf("rpmlint errors on the rpmbuild RPM: %v\n%s", errs, out)
	}
	t.Logf("rpmlint on the signed rpmbuild RPM: errors %v, warnings %v", errs, warns)
	if got := rpmK(t, spec, public); !strings.Contains(got, "digests signatures OK") {
		t.Errorf("rpm -K: %s", got)
	}
}

// TestRepoCorrupt: createrepo_c skips an RPM it cannot read and exits 0; MakeRepo
// fails naming the file, and the repository made before stays byte for byte.
func TestRepoCorrupt(t *testing.T) {
	testenv.Tool(t, "createrepo_c", "createrepo-c")
	o := fakeOptions(t)
	o.Formats = []string{"rpm"}
	paths, err := Build(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MakeRepo(t.Context(), o.OutDir); err != nil {
		t.Fatal(err)
	}
	repomd := filepath.Join(o.OutDir, "repodata", "repomd.xml")
	// In a subdirectory, an RPM is not part of the repository and not counted.
	sub := filepath.Join(o.OutDir, "old")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "x.rpm"), []byte("not an rpm"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := MakeRepo(t.Context(), o.OutDir); err != nil {
		t.Fatalf("an RPM in a subdirectory: %v", err)
	}
	for _, bad := range []struct{ name, data string }{
		{"garbage.rpm", "not an rpm"},
		{"truncated-1-1.el9.x86_64.rpm", ""}, // filled below with half of a real RPM
	} {
		t.Run(bad.name, func(t *testing.T) {
			data := []byte(bad.data)
			if data2, err := os.ReadFile(paths[0]); err == nil && bad.data == "" {
				data = data2[:len(data2)/2]
			}
			p := filepath.Join(o.OutDir, bad.name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(p)
			cur, _ := os.ReadFile(repomd)
			_, err := MakeRepo(t.Context(), o.OutDir)
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "could not read 1 of 2 packages") || hint.Of(err) == "" {
				t.Fatalf("MakeRepo with %s: %v", bad.name, err)
			}
			if hint.IsInput(err) {
				t.Errorf("a corrupt RPM is a failure (exit 1), not bad usage: %v", err)
			}
			if after, _ := os.ReadFile(repomd); !bytes.Equal(after, cur) {
				t.Error("a failed MakeRepo changed the repository")
			}
			if tmp, _ := filepath.Glob(filepath.Join(o.OutDir, ".harpy-repo-*")); len(tmp) > 0 {
				t.Errorf("left behind %v", tmp)
			}
		})
	}
}
