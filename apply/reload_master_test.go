package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"harpy/hversion"
	"harpy/internal/testenv"
	"harpy/internal/testport"
	"harpy/livetest"
	"harpy/runtimeapi"
)

func TestParseCmdline(t *testing.T) {
	for _, c := range []struct {
		name, raw string
		ok        bool
		want      Service
	}{
		{"packaged unit", "/usr/sbin/haproxy\x00-Ws\x00-f\x00/etc/haproxy/haproxy.cfg\x00-p\x00/run/haproxy.pid\x00-S\x00/run/haproxy-master.sock\x00", true,
			Service{Binary: "/usr/sbin/haproxy", Config: "/etc/haproxy/haproxy.cfg", Args: []string{"-Ws", "-f", "/etc/haproxy/haproxy.cfg", "-p", "/run/haproxy.pid"}}},
		{"after reloads: -sf PIDs and -x dropped", "/usr/sbin/haproxy\x00-W\x00-S\x00ipv4@127.0.0.1:9999\x00-f\x00/a.cfg\x00-f\x00/conf.d\x00-x\x00/run/admin.sock\x00-sf\x00123\x00456\x00-L\x00me\x00", true,
			Service{Binary: "/usr/sbin/haproxy", Config: "/a.cfg", Args: []string{"-W", "-f", "/a.cfg", "-f", "/conf.d", "-L", "me"}}},
		{"-sf at the end", "haproxy\x00-S\x00m.sock\x00-f\x00cfg\x00-sf\x00", true, Service{Binary: "haproxy", Config: "cfg", Args: []string{"-f", "cfg"}}},
		{"not a master: no -S", "/usr/bin/python3\x00-f\x00x\x00", false, Service{}},
		{"no -f", "/usr/sbin/haproxy\x00-W\x00", false, Service{}},
		{"empty", "", false, Service{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, ok := parseCmdline(c.raw)
			if ok != c.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			if s.Binary != c.want.Binary || s.Config != c.want.Config || !slices.Equal(s.Args, c.want.Args) {
				t.Errorf("parseCmdline = %+v, want %+v", s, c.want)
			}
			// whatever the master was given, the check never carries the running-only flags
			for _, a := range s.CheckArgs(LocalTarget{}, "", s.Config) {
				if a == "-S" || a == "-sf" || a == "-st" || a == "-x" || a == "-W" || a == "-Ws" || a == "-p" {
					t.Errorf("check argv has %s", a)
				}
			}
		})
	}
}

func TestAbsolute(t *testing.T) {
	s := Service{Binary: "./sbin/haproxy", Dir: "/srv/lb", Config: "haproxy.cfg", Args: []string{"-f", "haproxy.cfg", "-f", "/etc/x.cfg", "-L", "n"}}
	s.absolute()
	if s.Binary != "/srv/lb/sbin/haproxy" || s.Config != "/srv/lb/haproxy.cfg" || !slices.Equal(s.Args, []string{"-f", "/srv/lb/haproxy.cfg", "-f", "/etc/x.cfg", "-L", "n"}) {
		t.Errorf("absolute = %+v", s)
	}
}

// masterLab is haproxy in master-worker mode serving its worker's pid on front.
type masterLab struct {
	bin, cfg, front string
	master          *runtimeapi.Master
	proc            *livetest.Proc
}

const labCfg = `global
    stats socket %s level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f
    bind %s
    http-request return status 200 content-type text/plain lf-string "%%pid %s"
%s`

func freeAddr(t *testing.T) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(testport.TCP(t, "127.0.0.1")))
}

func startMasterLab(t *testing.T, bin string) *masterLab {
	t.Helper()
	dir, sock := t.TempDir(), livetest.SocketDir(t)
	l := &masterLab{bin: bin, cfg: filepath.Join(dir, "haproxy.cfg"), front: freeAddr(t)}
	l.write(t, "gen1", "")
	ms := filepath.Join(sock, "master.sock")
	l.proc = livetest.StartProc(t, "haproxy", filepath.Join(dir, "haproxy.out"), bin, "-W", "-db", "-S", ms, "-f", l.cfg)
	l.master = runtimeapi.NewMaster(ms)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := livetest.Eventually(ctx, 50*time.Millisecond, func() bool {
		p, err := l.master.Procs(ctx)
		g, _ := runtimeapi.GenerationOf(p)
		return err == nil && len(g.Current) == 1 && l.serves(t) == fmt.Sprintf("%d gen1", g.Current[0].PID)
	}); err != nil {
		t.Fatalf("haproxy -W did not come up: %v\n%s", err, livetest.Tail(l.proc.LogPath, 20))
	}
	return l
}

func (l *masterLab) write(t *testing.T, tag, extra string) {
	t.Helper()
	if err := os.WriteFile(l.cfg, []byte(fmt.Sprintf(labCfg, filepath.Join(filepath.Dir(l.cfg), "admin.sock"), l.front, tag, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// serves is the body front answers: "<worker pid> <tag>", or the error.
func (l *masterLab) serves(t *testing.T) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + l.front + "/")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func (l *masterLab) current(t *testing.T) runtimeapi.Generation {
	t.Helper()
	p, err := l.master.Procs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	g, err := runtimeapi.GenerationOf(p)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestRealMasterReload: on each version, a good config reloads into a new worker that
// serves it; a broken one is refused before the master sees it; one that parses but
// cannot bind is reported failed (with the startup logs on 2.7+) and the old worker
// still serves.
func TestRealMasterReload(t *testing.T) {
	testenv.Real(t)
	for name, bin := range testenv.Binaries(t) {
		t.Run(name, func(t *testing.T) {
			if only := os.Getenv("HARPY_RUNTIME_VERSIONS"); only != "" && !strings.Contains(only, name) {
				t.Skipf("not in HARPY_RUNTIME_VERSIONS=%s", only)
			}
			l := startMasterLab(t, bin())
			target := LocalTarget{Root: "/"}
			ctx := t.Context()
			newR := func() *MasterReloader {
				return &MasterReloader{Master: l.master, Timeout: 20 * time.Second, Poll: 50 * time.Millisecond}
			}

			// (a) a good config: a new worker serves it, the old one leaves.
			g1 := l.current(t)
			l.write(t, "gen2", "")
			r := newR()
			if err := r.Reload(ctx, target); err != nil {
				t.Fatalf("reload: %v\n%s", err, livetest.Tail(l.proc.LogPath, 20))
			}
			if err := r.Confirm(ctx, target); err != nil {
				t.Fatalf("confirm: %v", err)
			}
			if r.Binary == "" && (len(r.CheckArgv) == 0 || r.CheckArgv[0] != l.bin && !strings.HasSuffix(l.bin, r.CheckArgv[0])) {
				t.Errorf("checked with %q, the master runs %s", r.CheckArgv, l.bin)
			}
			g2 := r.After
			if len(g2.Current) != 1 || slices.Contains(g1.PIDs(), g2.Current[0].PID) {
				t.Fatalf("after reload: workers %v, before %v", g2.PIDs(), g1.PIDs())
			}
			for _, o := range g2.Old {
				if !slices.Contains(g1.PIDs(), o.PID) {
					t.Errorf("old worker %d was not a worker before", o.PID)
				}
			}
			want := fmt.Sprintf("%d gen2", g2.Current[0].PID)
			if _, err := livetest.Eventually(ctx, 50*time.Millisecond, func() bool { return l.serves(t) == want }); err != nil {
				t.Fatalf("front serves %q, want %q", l.serves(t), want)
			}
			sync := r.Version.Compare(hversion.MustParse("2.7")) >= 0
			if sync && !slices.ContainsFunc(r.Logs, func(s string) bool { return strings.Contains(s, "Loading success") }) {
				t.Errorf("2.7+ startup logs lack the success line: %q", r.Logs)
			}

			// (b) a broken config: refused, the master never asked, the worker untouched.
			l.write(t, "gen3", "    bogus-keyword here\n")
			r = newR()
			err := r.Reload(ctx, target)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "bogus-keyword") {
				t.Fatalf("reload of a broken config: %v", err)
			}
			g3 := l.current(t)
			if !slices.Equal(g3.PIDs(), g2.PIDs()) || g3.Master.Reloads != g2.Master.Reloads {
				t.Errorf("after a refused reload: workers %v reloads %d, before %v reloads %d", g3.PIDs(), g3.Master.Reloads, g2.PIDs(), g2.Master.Reloads)
			}
			if got := l.serves(t); got != want {
				t.Errorf("after a refused reload front serves %q, want %q", got, want)
			}

			// (c) parses, fails at start: a bind on a port in use.
			busy, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer busy.Close()
			l.write(t, "gen4", "    bind "+busy.Addr().String()+"\n")
			r = newR()
			err = r.Reload(ctx, target)
			if err == nil {
				err = r.Confirm(ctx, target)
			}
			var re *ReloadError
			if !errors.As(err, &re) || !errors.Is(err, ErrReloadFailed) {
				t.Fatalf("reload with a port in use: %v", err)
			}
			if sync && !slices.ContainsFunc(re.Logs, func(s string) bool { return strings.Contains(s, "cannot bind socket") }) {
				t.Errorf("2.7+: the error lacks the startup log line of the bind: %q", re.Logs)
			}
			t.Logf("%s: %v", name, err)
			if got := l.serves(t); got != want {
				t.Errorf("after a failed reload front serves %q, want %q (the old worker)", got, want)
			}
		})
	}
}

// procTarget is this host with /proc answers of its own (nil: cat and readlink fail, as
// for another user's master).
type procTarget struct {
	LocalTarget
	proc map[string]string
	ran  [][]string
}

func (p *procTarget) Run(ctx context.Context, dir string, argv ...string) ([]byte, error) {
	p.ran = append(p.ran, argv)
	if len(argv) == 2 && (argv[0] == "cat" || argv[0] == "readlink") {
		if out, ok := p.proc[argv[1]]; ok {
			return []byte(out), nil
		}
		return []byte("Permission denied"), errors.New("exit status 1")
	}
	return nil, nil
}

// TestMasterService: flags come from the master's /proc entries when readable; else from
// the given service, with --config in place of its -f.
func TestMasterService(t *testing.T) {
	unit := &Service{Binary: "/usr/sbin/haproxy", Config: "/etc/haproxy/haproxy.cfg", Dir: "/", Args: []string{"-Ws", "-f", "/etc/haproxy/haproxy.cfg", "-p", "/run/haproxy.pid"}}
	for _, c := range []struct {
		name        string
		proc        map[string]string
		config      string
		wantCmdline bool
		wantBinary  string
		wantConfig  string
		wantDir     string
	}{
		{"proc readable", map[string]string{
			"/proc/42/cmdline": "haproxy\x00-W\x00-S\x00m.sock\x00-f\x00lb.cfg\x00-sf\x007\x00",
			"/proc/42/exe":     "/opt/haproxy/sbin/haproxy (deleted)\n",
			"/proc/42/cwd":     "/srv/lb\n",
		}, "", true, "/opt/haproxy/sbin/haproxy", "/srv/lb/lb.cfg", "/srv/lb"},
		{"exe unreadable, relative argv[0]", map[string]string{
			"/proc/42/cmdline": "haproxy\x00-W\x00-S\x00m.sock\x00-f\x00/etc/lb.cfg\x00",
		}, "", true, "", "/etc/lb.cfg", "/"},
		{"cmdline unreadable: the unit", nil, "", false, "/usr/sbin/haproxy", "/etc/haproxy/haproxy.cfg", "/"},
		{"cmdline unreadable: the unit with --config", nil, "/etc/haproxy/other.cfg", false, "/usr/sbin/haproxy", "/etc/haproxy/other.cfg", "/"},
		{"not a master (no -S): the unit", map[string]string{"/proc/42/cmdline": "/usr/bin/sleep\x00-f\x00x\x00"}, "", false, "/usr/sbin/haproxy", "/etc/haproxy/haproxy.cfg", "/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pt := &procTarget{proc: c.proc}
			r := &MasterReloader{Service: unit, Config: c.config}
			s, fromCmdline, err := r.service(t.Context(), pt, 42)
			if err != nil {
				t.Fatal(err)
			}
			if fromCmdline != c.wantCmdline || s.Binary != c.wantBinary || s.Config != c.wantConfig || s.Dir != c.wantDir {
				t.Errorf("service = %+v (from cmdline %v, %s)", s, fromCmdline, r.FlagsFrom)
			}
			argv := s.CheckArgs(pt, "", s.Config)
			if i := slices.Index(argv, "-f"); i < 0 || argv[i+1] != c.wantConfig {
				t.Errorf("check argv %q does not check %s", argv, c.wantConfig)
			}
			if !c.wantCmdline && !strings.Contains(r.FlagsFrom, "unreadable") {
				t.Errorf("FlagsFrom %q does not say the command line was unreadable", r.FlagsFrom)
			}
		})
	}
	if !slices.Equal(unit.Args, []string{"-Ws", "-f", "/etc/haproxy/haproxy.cfg", "-p", "/run/haproxy.pid"}) {
		t.Errorf("the given service was changed: %q", unit.Args)
	}
}

// FuzzParseCmdline: whatever the master's command line, the check built from it keeps
// every -f, never carries a flag that would start or signal a process, and checks the
// first -f.
func FuzzParseCmdline(f *testing.F) {
	for _, s := range []string{
		"/usr/sbin/haproxy\x00-Ws\x00-S\x00/run/m.sock\x00-f\x00/etc/haproxy/haproxy.cfg\x00-sf\x001\x002\x00",
		"haproxy\x00-S\x00-f\x00-f\x00a\x00-x\x00",
		"haproxy\x00-f\x00a\x00-S\x00s\x00-st\x00-sf\x00-p\x00pid\x00-D\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, ok := parseCmdline(raw)
		if !ok {
			return
		}
		s.absolute()
		argv := s.CheckArgs(LocalTarget{}, "/bin/haproxy", s.Config)
		if argv[1] != "-c" {
			t.Fatalf("check argv %q", argv)
		}
		for i, a := range argv {
			switch a {
			case "-sf", "-st", "-x", "-S", "-W", "-Ws", "-D", "-db":
				// a flag word is fine as the value of -f or -L …, never on its own
				if i == 0 || (argv[i-1] != "-f" && argv[i-1] != "-L" && argv[i-1] != "-C") {
					t.Errorf("check argv %q carries %s", argv, a)
				}
			}
		}
		if i := slices.Index(argv, "-f"); i < 0 || i+1 >= len(argv) || argv[i+1] != (LocalTarget{}).Path(s.Config) {
			t.Errorf("check argv %q does not check %q first", argv, s.Config)
		}
	})
}
