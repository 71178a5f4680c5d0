package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"harpy/internal/testenv"
	"harpy/livetest"
	"harpy/runtimeapi"
)

func ptr(n int) *int { return &n }

func TestWatchViewHighlightsChanges(t *testing.T) {
	s := tcell.NewSimulationScreen("UTF-8")
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	defer s.Fini()
	s.SetSize(140, 20)
	v := &watchView{addr: "admin.sock", version: "2.6.12", interval: time.Second, changed: map[string]time.Time{}}
	base := []StatLine{
		{Proxy: "app", Server: "web1", Status: "UP", Weight: ptr(10), LastChange: ptr(5), Addr: "10.0.0.1:80"},
		{Proxy: "app", Server: "web2", Status: "UP", Weight: ptr(10), LastChange: ptr(5), Addr: "10.0.0.2:80"},
		{Proxy: "app", Server: "web3", Status: "DOWN", Weight: ptr(10), LastChange: ptr(5)},
	}
	t0 := time.Now()
	v.update(base, t0)
	if len(v.changed) != 0 {
		t.Fatalf("the first reading marked changes: %v", v.changed)
	}
	next := append([]StatLine(nil), base...)
	next[0].Status = "DRAIN"
	next[1].LastChange = ptr(6) // time passing is not a change
	v.update(next, t0.Add(time.Second))
	v.draw(s, t0.Add(time.Second))

	// find each server's row and the STATUS column
	cells, w, h := s.GetContents()
	row := func(y int) string {
		var b strings.Builder
		for x := 0; x < w; x++ {
			b.WriteString(string(cells[y*w+x].Runes))
		}
		return b.String()
	}
	header := -1
	for y := 0; y < h; y++ {
		if strings.HasPrefix(row(y), "PROXY") {
			header = y
		}
	}
	if header < 0 {
		t.Fatal("no table header drawn")
	}
	statusX := strings.Index(row(header), "STATUS")
	styleAt := func(y int) tcell.Style { return cells[y*w+statusX].Style }
	reversed := func(st tcell.Style) bool { _, _, a := st.Decompose(); return a&tcell.AttrReverse != 0 }
	for y := header + 1; y < header+4; y++ {
		line := row(y)
		switch {
		case strings.Contains(line, "web1"):
			if !strings.Contains(line, "DRAIN") || !reversed(styleAt(y)) {
				t.Errorf("web1 changed to DRAIN but its status is not highlighted: %q", line)
			}
			if fg, _, _ := styleAt(y).Decompose(); fg != tcell.ColorYellow {
				t.Errorf("DRAIN drawn in %v, want yellow", fg)
			}
		case strings.Contains(line, "web2"), strings.Contains(line, "web3"):
			if reversed(styleAt(y)) {
				t.Errorf("unchanged row highlighted: %q", line)
			}
		}
	}
	// the highlight fades
	v.draw(s, t0.Add(time.Second+highlightFor))
	cells, _, _ = s.GetContents()
	for y := header + 1; y < header+4; y++ {
		if reversed(cells[y*w+statusX].Style) {
			t.Errorf("row %d still highlighted after %s", y, highlightFor)
		}
	}
	// sorting by status puts what needs attention first
	v.sortMode = 1
	if got := v.sorted(); got[0].Server != "web3" || got[1].Server != "web1" {
		t.Errorf("status sort: %v", got)
	}
}

// TestWatchTmux drives --watch in a real terminal (tmux), drains a server from outside
// and reads the change from the screen.
func TestWatchTmux(t *testing.T) {
	testenv.Real(t)
	tmux := testenv.Tool(t, "tmux", "tmux")
	dir := t.TempDir()
	bin := filepath.Join(dir, "harpy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sock := filepath.Join(dir, "admin.sock")
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`global
    stats socket %s mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend app
    server web1 127.0.0.1:1
    server web2 127.0.0.1:2
`, sock)), 0o644); err != nil {
		t.Fatal(err)
	}
	livetest.StartHAProxy(t, livetest.DebianHAProxy(t), cfg, sock)

	tsock := filepath.Join(dir, "tmux.sock")
	run := func(args ...string) string {
		out, err := exec.Command(tmux, append([]string{"-S", tsock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("new-session", "-d", "-s", "w", "-x", "150", "-y", "30", bin+" stat --watch --interval 200ms --socket "+sock)
	t.Cleanup(func() { exec.Command(tmux, "-S", tsock, "kill-server").Run() })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	web1 := func(escapes bool) string {
		args := []string{"capture-pane", "-p", "-t", "w"}
		if escapes {
			args = append(args, "-e")
		}
		for _, l := range strings.Split(run(args...), "\n") {
			if strings.Contains(l, "web1") {
				return l
			}
		}
		return ""
	}
	if _, err := livetest.Eventually(ctx, 50*time.Millisecond, func() bool { return strings.Contains(web1(false), "no check") }); err != nil {
		t.Fatalf("the view never showed web1: %v\n%s", err, run("capture-pane", "-p", "-t", "w"))
	}
	a, _ := runtimeapi.NewAction("drain", "app", "web1", "")
	if _, err := runtimeapi.New(sock).Apply(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := livetest.Eventually(ctx, 50*time.Millisecond, func() bool { return strings.Contains(web1(false), "DRAIN") }); err != nil {
		t.Fatalf("the view never showed the drain: %v\n%s", err, run("capture-pane", "-p", "-t", "w"))
	}
	// highlighted (reverse video, SGR 7) and coloured
	if l := web1(true); !strings.Contains(l, "\x1b[7m") {
		t.Errorf("the drained status is not highlighted: %q", l)
	}
	run("send-keys", "-t", "w", "q")
	if _, err := livetest.Eventually(ctx, 50*time.Millisecond, func() bool {
		return exec.Command(tmux, "-S", tsock, "has-session", "-t", "w").Run() != nil
	}); err != nil {
		t.Errorf("q did not end the view")
	}
}
