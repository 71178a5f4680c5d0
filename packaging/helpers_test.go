package packaging

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"harpy/hint"
	"harpy/internal/testenv"
	"harpy/profiles"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

const (
	testVersion = "2.6.12"
	testEpoch   = 1700000000 // SOURCE_DATE_EPOCH of every test package
)

// rendered is the default profile rendered for a dist's rsyslog/logrotate syntax.
func rendered(dist string) (*profiles.Output, error) {
	p, err := profiles.Load(context.Background(), profiles.Default)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(dist, "el") {
		dist = "debian"
	}
	return profiles.Render(p, profiles.Options{Dist: dist})
}

// testOptions are the options of a real package: the pipeline's staged 2.6.12
// and the rendered default profile.
func testOptions(t *testing.T, dist string, formats ...string) Options {
	t.Helper()
	out, err := rendered(dist)
	if err != nil {
		t.Fatalf("render %s: %v", profiles.Default, err)
	}
	stage := testenv.Staged(t, testVersion)
	return Options{
		Version:         testVersion,
		Release:         "1",
		Dist:            dist,
		StageDir:        stage,
		OutDir:          t.TempDir(),
		Formats:         formats,
		Systemd:         testenv.Features(t, testVersion)["SYSTEMD"],
		Config:          out.HAProxyCfg,
		Rsyslog:         out.Rsyslog,
		Logrotate:       out.Logrotate,
		SourceDateEpoch: testEpoch,
		Packager:        "harpy tests <root@localhost>",
	}
}

func build1(t *testing.T, o Options) string {
	t.Helper()
	paths, err := Build(t.Context(), o)
	if err != nil {
		t.Fatalf("Build: %v (hint: %s)", err, hintOf(err))
	}
	if len(paths) != 1 {
		t.Fatalf("Build made %v", paths)
	}
	return paths[0]
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	return runIn(t, "", nil, name, args...)
}

func runIn(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), testenv.Tool(t, name), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

const fileQuery = "[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]"

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// throwaway runs script with /bin/sh -e, chrooted into an overlay of the real
// / inside a private mount namespace (unshare -m): every write lands in a
// temporary upper directory and is gone with it, so package installs, rpm
// keyring imports and rpmlint's extraction never reach the machine's /. Files are
// placed into the root first (host path → path inside). It returns the
// combined output and the exit error.
func throwaway(t *testing.T, files map[string]string, script string) (string, error) {
	t.Helper()
	testenv.Tool(t, "unshare")
	testenv.Tool(t, "chroot")
	d := t.TempDir()
	upper, work, root := filepath.Join(d, "upper"), filepath.Join(d, "work"), filepath.Join(d, "root")
	for _, p := range []string{upper, work, root} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for src, dst := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(upper, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The outer script refuses to chroot unless the root really is the overlay.
	outer := `set -e
mount -t overlay overlay -o "lowerdir=/,upperdir=$1,workdir=$2" "$3"
[ "$(findmnt -n -o FSTYPE --mountpoint "$3")" = overlay ]
mount -t proc proc "$3/proc"
mount --rbind /dev "$3/dev"
mount -t tmpfs tmpfs "$3/run"
exec chroot "$3" /bin/sh -ec "$4"`
	cmd := exec.CommandContext(t.Context(), "unshare", "-m", "--propagation", "private", "sh", "-c", outer, "sh", upper, work, root, script)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func hintOf(err error) string { return hint.Of(err) }
