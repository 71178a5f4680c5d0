package runtimeapi

import (
	"strings"
	"testing"
)

// Answers recorded from 3.0.11's master CLI.
const (
	reloadOK = `Success=1
--
[NOTICE]   (10349) : New worker (10561) forked
[NOTICE]   (10349) : Loading success.
[WARNING]  (10349) : Former worker (10353) exited with code 0 (Exit)

`
	reloadBind = `Success=0
--
[NOTICE]   (10349) : haproxy version is 3.0.11-9e587df
[ALERT]    (10349) : Binding [cfg:10] for frontend f: protocol tcpv4: cannot bind socket (Address already in use) for [127.0.0.1:18432].
[WARNING]  (10349) : Loading failure!
`
)

func TestParseReload(t *testing.T) {
	for _, c := range []struct {
		name, out     string
		sync, success bool
		logs          int
		err           string
	}{
		{"3.0 success", reloadOK, true, true, 3, ""},
		{"3.0 bind failure", reloadBind, true, false, 3, ""},
		{"crlf, no -- line", "Success=0\r\n[ALERT] x\r\n", true, false, 1, ""},
		{"2.6 asynchronous", "", false, false, 0, ""},
		{"2.6 asynchronous, blank lines", "\n\n", false, false, 0, ""},
		{"unknown command", "Unknown command, but maybe one of the following ones is a better match:\n  show proc\n", false, false, 0, "Unknown command"},
		{"bad success value", "Success=yes\n--\n", false, false, 0, `bad Success= value "yes"`},
		{"something else", "hello\n", false, false, 0, "unexpected answer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := ParseReload(c.out)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Synchronous != c.sync || a.Success != c.success || len(a.Logs) != c.logs {
				t.Errorf("ParseReload = %+v", a)
			}
			for _, l := range a.Logs {
				if l == "--" || strings.HasPrefix(l, "Success=") || strings.TrimSpace(l) == "" {
					t.Errorf("log line %q kept", l)
				}
			}
		})
	}
}

func gen(t *testing.T, out string) Generation {
	t.Helper()
	p, err := ParseProcs(out)
	if err != nil {
		t.Fatal(err)
	}
	g, err := GenerationOf(p)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

const hdr30 = "#<PID>          <type>          <reloads>       <uptime>        <version>\n"
const hdr22 = "#<PID>          <type>          <relative PID>  <reloads>       <uptime>        <version>\n"

// TestCompare: show proc before and after each kind of reload, as 2.2, 2.6 and 3.0 print it.
func TestCompare(t *testing.T) {
	before30 := hdr30 + "10349 master 0 [failed: 0] 0d00h00m01s 3.0.11\n# workers\n10353 worker 0 0d00h00m01s 3.0.11\n# programs\n"
	before22 := hdr22 + "12344 master 0 0 0d00h00m01s 2.2.9\n# workers\n12348 worker 1 0 0d00h00m01s 2.2.9\n# programs\n"
	for _, c := range []struct {
		name, before, after string
		want                Outcome
	}{
		{"nothing yet", before30, before30, Pending},
		{"3.0 success, old gone", before30, hdr30 + "10349 master 1 [failed: 0] 0d00h00m01s 3.0.11\n# workers\n10561 worker 0 0d00h00m00s 3.0.11\n", Reloaded},
		{"3.0 success, old leaving", before30, hdr30 + "10349 master 1 [failed: 0] 1s 3.0.11\n# workers\n10561 worker 0 0s 3.0.11\n# old workers\n10353 worker 1 2s 3.0.11\n", Reloaded},
		{"3.0 failure: old worker stays current", before30, hdr30 + "10349 master 2 [failed: 1] 4s 3.0.11\n# workers\n10353 worker 1 3s 3.0.11\n", Failed},
		{"2.6 failure", before30, hdr30 + "10349 master 1 [failed: 1] 4s 2.6.12\n# workers\n10353 worker 1 3s 2.6.12\n", Failed},
		{"2.2 success", before22, hdr22 + "12344 master 0 1 2s 2.2.9\n# workers\n12779 worker 1 0 0s 2.2.9\n", Reloaded},
		{"2.2 failure: no current worker", before22, hdr22 + "12344 master 0 1 5s 2.2.9\n# workers\n# old workers\n12348 worker [was: 1] 1 3s 2.2.9\n", Failed},
		{"new worker but old still current", before30, hdr30 + "10349 master 1 [failed: 0] 1s 3.0.11\n# workers\n10353 worker 0 1s 3.0.11\n10561 worker 0 0s 3.0.11\n", Leaving},
		{"master restarted", before30, hdr30 + "20000 master 0 [failed: 0] 1s 3.0.11\n# workers\n20001 worker 0 0s 3.0.11\n", Reloaded},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Compare(gen(t, c.before), gen(t, c.after)); got != c.want {
				t.Errorf("Compare = %v, want %v", got, c.want)
			}
		})
	}
}

// TestCompareInvariants: whatever the rows, a generation compared with itself is
// pending, and Reloaded never leaves an old current worker current.
func TestCompareInvariants(t *testing.T) {
	pids := []int{100, 101, 102, 103}
	for mask := 0; mask < 1<<8; mask++ {
		before := Generation{Master: Proc{PID: 1, Type: "master"}}
		after := Generation{Master: Proc{PID: 1, Type: "master", Reloads: mask >> 7}}
		for i, p := range pids {
			if mask&(1<<i) != 0 {
				before.Current = append(before.Current, Proc{PID: p, Type: "worker"})
			}
			if mask&(1<<(i+4)) != 0 {
				after.Current = append(after.Current, Proc{PID: p, Type: "worker"})
			}
		}
		if got := Compare(before, before); got != Pending {
			t.Errorf("mask %b: Compare(g, g) = %v", mask, got)
		}
		if Compare(before, after) == Reloaded {
			for _, p := range after.Current {
				for _, q := range before.Current {
					if p.PID == q.PID {
						t.Errorf("mask %b: Reloaded with %d still current", mask, p.PID)
					}
				}
			}
		}
	}
}

// FuzzParseReload: any answer is either an error or a result whose log lines are the
// non-blank lines after Success= and the "--" marker, none of them dropped or invented.
func FuzzParseReload(f *testing.F) {
	for _, s := range []string{reloadOK, reloadBind, "", "Success=1\n", "Success=0\r\n--\r\n[ALERT] x\r\n", "\n\nSuccess=1\n--\n--\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		a, err := ParseReload(out)
		if err != nil {
			return
		}
		if !a.Synchronous {
			if strings.TrimSpace(out) != "" || a.Success || len(a.Logs) > 0 {
				t.Fatalf("asynchronous answer from %q: %+v", out, a)
			}
			return
		}
		if !strings.Contains(out, "Success=") {
			t.Fatalf("synchronous without Success= in %q", out)
		}
		for _, l := range a.Logs {
			if strings.TrimSpace(l) == "" || !strings.Contains(out, l) {
				t.Errorf("log line %q not in %q", l, out)
			}
		}
	})
}
