package apply

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"harpy/hint"
	"harpy/runtimeapi"
)

// fakeMaster is a master CLI on a unix socket: `show proc` answers one worker (pid 10)
// before the reload, then the rows of after in turn (the last one repeated).
type fakeMaster struct {
	mu       sync.Mutex
	version  string
	reloaded bool
	polls    int      // show proc answers after the reload
	after    []string // show proc rows after the reload, the last one repeated
	reload   string   // the answer to reload; "hang" never answers
	cmds     []string
}

func (f *fakeMaster) showProc() string {
	hdr := "#<PID>          <type>          <reloads>       <uptime>        <version>\n"
	if !f.reloaded {
		return hdr + "100 master 0 [failed: 0] 1s " + f.version + "\n# workers\n10 worker 0 1s " + f.version + "\n# programs\n"
	}
	i := min(f.polls, len(f.after)-1)
	f.polls++
	return hdr + f.after[i]
}

func (f *fakeMaster) serve(t *testing.T) string {
	dir, err := os.MkdirTemp("", "fm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "m.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				cmd := strings.TrimSpace(line)
				f.mu.Lock()
				f.cmds = append(f.cmds, cmd)
				var out string
				switch cmd {
				case "show proc":
					out = f.showProc()
				case "reload":
					f.reloaded = true
					if f.reload == "hang" {
						f.mu.Unlock()
						time.Sleep(2 * time.Second)
						return
					}
					out = f.reload
				default:
					out = "Unknown command\n"
				}
				f.mu.Unlock()
				fmt.Fprint(c, out)
			}()
		}
	}()
	return sock
}

// TestMasterReloaderFake drives Reload and Confirm against scripted master answers: the
// decisions that real HAProxy rarely shows (a hang, a slow old worker) included.
func TestMasterReloaderFake(t *testing.T) {
	newWorker := "100 master 1 [failed: 0] 2s V\n# workers\n11 worker 0 0s V\n# old workers\n10 worker 1 2s V\n"
	sameWorker := "100 master 0 [failed: 0] 2s V\n# workers\n10 worker 0 2s V\n"
	failed := "100 master 1 [failed: 1] 2s V\n# workers\n10 worker 1 2s V\n"
	bothCurrent := "100 master 1 [failed: 0] 2s V\n# workers\n10 worker 1 2s V\n11 worker 0 0s V\n"
	for _, c := range []struct {
		name, version, reload string
		after                 []string
		binary                string
		wantErr               string // "" for success
		wantIs                error
		wantHint              string
		wantReloadSent        bool
		wantAfter             []int
	}{
		{"3.0 success", "3.0.11", "Success=1\n--\n[NOTICE] Loading success.\n", []string{newWorker}, "/bin/true", "", nil, "", true, []int{11}},
		{"3.0 Success=0", "3.0.11", "Success=0\n--\n[ALERT] cannot bind socket\n", []string{failed}, "/bin/true", "cannot bind socket", ErrReloadFailed, "startup logs", true, nil},
		{"3.0 no answer in time", "3.0.11", "hang", []string{newWorker}, "/bin/true", "read the answer to \"reload\"", nil, "--timeout", true, nil},
		{"2.6 slow re-exec then success", "2.6.12", "", []string{sameWorker, sameWorker, newWorker}, "/bin/true", "", nil, "", true, []int{11}},
		{"2.6 failure", "2.6.12", "", []string{sameWorker, failed}, "/bin/true", "kept the workers [10]", ErrReloadFailed, "show startup-logs", true, nil},
		{"old worker stays current", "3.0.11", "Success=1\n--\n", []string{bothCurrent}, "/bin/true", "old worker still current", nil, "--timeout", true, nil},
		{"invalid config: reload never sent", "3.0.11", "Success=1\n", []string{newWorker}, "/bin/false", "configuration is invalid", ErrInvalidConfig, "fix the lines", false, nil},
		{"1.8: no master reload", "1.8.30", "", []string{newWorker}, "/bin/true", `lacks "reload"`, nil, "upgrade", false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeMaster{version: c.version, reload: c.reload}
			for _, a := range c.after {
				f.after = append(f.after, strings.ReplaceAll(a, " V\n", " "+c.version+"\n"))
			}
			m := runtimeapi.NewMaster(f.serve(t))
			// pid 100 is not this test's master: its /proc/100/cmdline (if any) has no -S
			r := &MasterReloader{Master: m, Binary: c.binary, Timeout: 250 * time.Millisecond, Poll: 10 * time.Millisecond,
				Service: &Service{Config: "/etc/haproxy/haproxy.cfg", Dir: "/", Args: []string{"-f", "/etc/haproxy/haproxy.cfg"}}}
			tg := LocalTarget{Root: "/"}
			err := r.Reload(t.Context(), tg)
			if err == nil {
				err = r.Confirm(t.Context(), tg)
			}
			f.mu.Lock()
			sent := slices.Contains(f.cmds, "reload")
			f.mu.Unlock()
			if sent != c.wantReloadSent {
				t.Errorf("reload sent: %v, want %v (%q)", sent, c.wantReloadSent, f.cmds)
			}
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(r.After.PIDs(), c.wantAfter) || !slices.Equal(r.Before.PIDs(), []int{10}) {
					t.Errorf("workers %v → %v", r.Before.PIDs(), r.After.PIDs())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
			if c.wantIs != nil && !errors.Is(err, c.wantIs) {
				t.Errorf("err %v is not %v", err, c.wantIs)
			}
			if h := hint.Of(err); !strings.Contains(h, c.wantHint) {
				t.Errorf("hint %q, want %q", h, c.wantHint)
			}
		})
	}
}
