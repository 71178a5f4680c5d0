package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"harpy/apply"
	"harpy/hversion"
	"harpy/profiles"
)

type localHost struct{ apply.LocalTarget }

func (localHost) Close() error { return nil }

// fleet is n hosts whose "SSH" is a directory each; the check runs binary (true or
// false stand in for haproxy -c here; the real one is in the sshtarget and CLI tests).
func fleet(t *testing.T, n int) ([]*Host, Options, map[string]string) {
	t.Helper()
	p, err := profiles.Load(t.Context(), profiles.Default)
	if err != nil {
		t.Fatal(err)
	}
	roots := map[string]string{}
	var hosts []*Host
	for i := range n {
		name := fmt.Sprintf("h%d", i)
		roots[name] = t.TempDir()
		hosts = append(hosts, &Host{Name: name, Address: "127.0.0.1", Port: 22, Profile: p, ProfileName: profiles.Default,
			HAProxy: hversion.MustParse("2.6"), Dist: "debian", Binary: "true", Reload: []string{"true"}})
	}
	dial := func(_ context.Context, h *Host) (Target, error) {
		return localHost{apply.LocalTarget{Root: roots[h.Name]}}, nil
	}
	return hosts, Options{Dial: dial}, roots
}

func written(root string) bool {
	_, err := os.Stat(filepath.Join(root, "etc/haproxy/haproxy.cfg"))
	return err == nil
}

func TestRunBatches(t *testing.T) {
	for _, tc := range []struct {
		name             string
		n, serial, max   int
		bad              []int // hosts whose check fails
		want             string
		stopped, wantErr bool
	}{
		{"all good one by one", 3, 1, 0, nil, "changed changed changed", false, false},
		{"all good at once", 4, 4, 0, nil, "changed changed changed changed", false, false},
		{"a failure stops after its batch", 5, 2, 0, []int{1}, "changed failed skipped skipped skipped", true, true},
		{"the batch runs to its end", 5, 3, 0, []int{0}, "failed changed changed skipped skipped", true, true},
		{"within max-fail the run goes on", 4, 1, 1, []int{1}, "changed failed changed changed", false, true},
		{"max-fail exceeded", 5, 1, 1, []int{1, 2}, "changed failed failed skipped skipped", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hosts, opts, roots := fleet(t, tc.n)
			for _, i := range tc.bad {
				hosts[i].Binary = "false"
			}
			opts.Serial, opts.MaxFail = tc.serial, tc.max
			sum, err := Run(t.Context(), hosts, opts)
			var got []string
			for i, r := range sum.Hosts {
				got = append(got, r.Config)
				if written(roots[hosts[i].Name]) != (r.Config == Changed) {
					t.Errorf("%s: %s but written = %v", r.Host, r.Config, written(roots[hosts[i].Name]))
				}
				if r.Config == Failed && !strings.Contains(r.Error, "nothing was replaced") {
					t.Errorf("%s: error %q", r.Host, r.Error)
				}
			}
			if strings.Join(got, " ") != tc.want || sum.Stopped != tc.stopped || (err != nil) != tc.wantErr {
				t.Fatalf("got %q stopped %v err %v, want %q stopped %v", got, sum.Stopped, err, tc.want, tc.stopped)
			}
			if tc.wantErr && !errors.Is(err, ErrFailed) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestRunIdempotentAndDryRun(t *testing.T) {
	hosts, opts, roots := fleet(t, 2)
	hosts[0].Sets = nil
	// A dry run on a clean host: a diff of new files, nothing written.
	opts.DryRun = true
	sum, err := Run(t.Context(), hosts, opts)
	if err != nil || sum.Changed != 2 || written(roots["h0"]) {
		t.Fatalf("dry run: %+v %v", sum, err)
	}
	if d := sum.Hosts[0].Diff; !strings.Contains(d, "+global") || !strings.Contains(d, "haproxy.cfg (new)") || sum.Hosts[0].Config != WouldChange {
		t.Fatalf("diff:\n%s", d)
	}
	opts.DryRun = false
	if sum, err = Run(t.Context(), hosts, opts); err != nil || sum.Changed != 2 || sum.Reloads != 2 {
		t.Fatalf("first run: %+v %v", sum, err)
	}
	// Second run: nothing changes, nothing reloads.
	if sum, err = Run(t.Context(), hosts, opts); err != nil || sum.Changed != 0 || sum.Unchanged != 2 || sum.Reloads != 0 {
		t.Fatalf("second run: %+v %v", sum, err)
	}
	opts.DryRun = true
	if sum, err = Run(t.Context(), hosts, opts); err != nil || sum.Changed != 0 || sum.Hosts[0].Diff != "" {
		t.Fatalf("dry run after: %+v %v", sum, err)
	}
	// A failing reload puts the files back: the host's config is the one before.
	hosts[0].Reload = []string{"false"}
	before, _ := os.ReadFile(filepath.Join(roots["h0"], "etc/haproxy/haproxy.cfg"))
	hosts[0].Profile.Description += " changed"
	opts.DryRun = false
	p, _ := profiles.Load(t.Context(), profiles.Default, "global.maxconn=1234")
	hosts[0].Profile = p
	sum, err = Run(t.Context(), hosts[:1], opts)
	after, _ := os.ReadFile(filepath.Join(roots["h0"], "etc/haproxy/haproxy.cfg"))
	if err == nil || sum.Failed != 1 || string(before) != string(after) || !strings.Contains(sum.Hosts[0].Error, "previous files are back") {
		t.Fatalf("failed reload: %+v %v", sum.Hosts[0], err)
	}
}

func TestDistOf(t *testing.T) {
	for _, tc := range []struct{ osr, want string }{
		{"ID=debian\nVERSION_ID=\"12\"\n", "debian"},
		{"ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"", "debian"},
		{"ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"", "el9"},
		{"ID=\"centos\"\nVERSION_ID=\"7\"", "el7"},
		{"ID=almalinux\nVERSION_ID=8.9", "el8"},
		{"ID=fedora\nVERSION_ID=40", "el9"},
		{"ID=arch", ""},
	} {
		if got, ok := DistOf(tc.osr); got != tc.want || ok != (tc.want != "") {
			t.Errorf("DistOf(%q) = %q, %v; want %q", tc.osr, got, ok, tc.want)
		}
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, secret string }{
		{"+    stats auth admin:s3cret", "s3cret"},
		{"-  stats   auth admin:hunter2 ", "hunter2"},
		{"+    user bob password $6$abc", "$6$abc"},
		{"+    user bob insecure-password plain1", "plain1"},
		{"token = abcd-1234", "abcd-1234"},
	} {
		got := mask(tc.in)
		if strings.Contains(got, tc.secret) || !strings.Contains(got, "********") {
			t.Errorf("mask(%q) = %q", tc.in, got)
		}
	}
}
