package watch

import (
	"os"
	"path/filepath"
	"text/template"

	"context"
	"errors"
	"fmt"
	"harpy/apply"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"harpy/discovery"
	"harpy/hversion"
)

// fakeRuntime keeps servers as HAProxy would after the commands it is sent. It is the
// unit-test stand-in; the real tests run HAProxy.
type fakeRuntime struct {
	mu      sync.Mutex
	v       hversion.V
	servers map[string]Server
	sent    []string
	refuse  string // a command prefix answered with an error
}

func (f *fakeRuntime) Version(context.Context) (hversion.V, error) { return f.v, nil }
func (f *fakeRuntime) Servers(_ context.Context, backend string) ([]Server, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Server
	for _, s := range f.servers {
		out = append(out, s)
	}
	return out, nil
}
func (f *fakeRuntime) Sessions(context.Context, string, string) (int, error) { return 0, nil }
func (f *fakeRuntime) Send(_ context.Context, cmd string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, cmd)
	if f.refuse != "" && strings.HasPrefix(cmd, f.refuse) {
		return "", errors.New("refused")
	}
	c := strings.TrimPrefix(cmd, "experimental-mode on; ")
	w := strings.Fields(c)
	name := func(ref string) string { return ref[strings.Index(ref, "/")+1:] }
	switch {
	case strings.HasPrefix(c, "add server"):
		ap := netip.MustParseAddrPort(w[3])
		var weight int
		fmt.Sscan(w[5], &weight)
		f.servers[name(w[2])] = Server{Name: name(w[2]), Addr: ap.Addr(), Port: ap.Port(), Weight: weight, Backup: strings.Contains(c, " backup"), Dynamic: true}
	case strings.HasPrefix(c, "del server"):
		delete(f.servers, name(w[2]))
	case strings.Contains(c, " weight "):
		s := f.servers[name(w[2])]
		fmt.Sscan(w[4], &s.Weight)
		f.servers[s.Name] = s
	}
	return "", nil
}

type fixed struct {
	ans discovery.Answer
	err error
}

func (f *fixed) Query(context.Context) (discovery.Answer, error) { return f.ans, f.err }
func (f *fixed) String() string                                  { return "fixed" }

type countPersister struct {
	mu               sync.Mutex
	persists, reload int
	last             map[string][]discovery.Target
}

func (p *countPersister) Persist(_ context.Context, s map[string][]discovery.Target) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.persists++
	p.last = s
	return nil
}
func (p *countPersister) reloads() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reload
}

func (p *countPersister) Reload(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reload++
	return nil
}

func TestWatcherOnce(t *testing.T) {
	rt := &fakeRuntime{v: hversion.MustParse("3.0"), servers: map[string]Server{
		"a_80": {Name: "a_80", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Weight: 1},
	}}
	src := &fixed{ans: discovery.Answer{Targets: []discovery.Target{
		tgt("a_80", "10.0.0.1", 80, 1, false), tgt("b_80", "10.0.0.2", 80, 1, false),
	}}}
	p := &countPersister{}
	w := &Watcher{Runtime: rt, Persister: p, Backends: []Backend{{Name: "be", Source: src}}, ReloadDebounce: 10 * time.Millisecond}
	ctx := context.Background()
	ch, err := w.Once(ctx)
	if err != nil || len(ch) != 1 || ch[0].Kind != Add || len(rt.servers) != 2 || p.persists != 1 {
		t.Fatalf("first: %v %+v servers %v persists %d", err, ch, rt.servers, p.persists)
	}
	// Again: nothing to do, nothing sent, nothing written.
	sent := len(rt.sent)
	if ch, err := w.Once(ctx); err != nil || len(ch) != 0 || len(rt.sent) != sent || p.persists != 1 {
		t.Fatalf("second: %v %+v sent %d persists %d", err, ch, len(rt.sent)-sent, p.persists)
	}
	// A failing source or an empty answer changes nothing.
	for _, bad := range []*fixed{{err: errors.New("SERVFAIL")}, {ans: discovery.Answer{}}} {
		w.Backends[0].Source = bad
		if ch, _ := w.Once(ctx); len(ch) != 0 || len(rt.servers) != 2 {
			t.Fatalf("bad answer applied: %+v servers %v", ch, rt.servers)
		}
	}
	st, _ := w.Status()
	if st.Refused != 2 {
		t.Errorf("refused %d, want 2", st.Refused)
	}
	// A command HAProxy refuses falls back to the file and one reload.
	rt.refuse = "set server be/b_80 weight"
	w.Backends[0].Source = &fixed{ans: discovery.Answer{Targets: []discovery.Target{
		tgt("a_80", "10.0.0.1", 80, 1, false), tgt("b_80", "10.0.0.2", 80, 7, false),
	}}}
	w.Once(ctx)
	for deadline := time.Now().Add(5 * time.Second); p.reloads() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if p.reloads() != 1 || p.persists != 2 {
		t.Errorf("refused command: reloads %d persists %d", p.reload, p.persists)
	}
	// Dry run sends nothing.
	w.DryRun = true
	w.Backends[0].Source = &fixed{ans: discovery.Answer{Targets: []discovery.Target{tgt("a_80", "10.0.0.1", 80, 1, false), tgt("c_80", "10.0.0.3", 80, 1, false)}}}
	sent = len(rt.sent)
	if ch, _ := w.Once(ctx); len(ch) != 2 || len(rt.sent) != sent {
		t.Errorf("dry run: %+v, sent %d", ch, len(rt.sent)-sent)
	}
}

// TestReloadDebounced: twenty changes that each need a reload (HAProxy 2.2 adds no
// servers at run time) within the debounce cost one reload.
func TestReloadDebounced(t *testing.T) {
	rt := &fakeRuntime{v: hversion.MustParse("2.2"), servers: map[string]Server{
		"a_80": {Name: "a_80", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Weight: 1},
	}}
	p := &countPersister{}
	w := &Watcher{Runtime: rt, Persister: p, ReloadDebounce: 200 * time.Millisecond}
	for i := 0; i < 20; i++ {
		ts := []discovery.Target{tgt("a_80", "10.0.0.1", 80, 1, false)}
		if i%2 == 0 {
			ts = append(ts, tgt("b_80", "10.0.0.2", 80, 1, false))
		}
		w.Backends = []Backend{{Name: "be", Source: &fixed{ans: discovery.Answer{Targets: ts}}}}
		w.Once(context.Background())
	}
	for deadline := time.Now().Add(5 * time.Second); p.reloads() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a second reload would come within the debounce
	if p.reloads() != 1 {
		t.Errorf("%d reloads for 20 flaps, want 1", p.reload)
	}
}

// TestFiles: another file follows the same servers, checked before it replaces the old
// one and followed by its own reload; a check that refuses leaves the old file.
func TestFiles(t *testing.T) {
	root := t.TempDir()
	tmpl := template.Must(template.New("hosts").Parse("{{range .Backends.be}}{{.Addr}} {{.Name}}\n{{end}}"))
	marker := filepath.Join(root, "reloaded")
	f := &File{Path: "/etc/hosts.d/lb", Template: tmpl, Check: []string{"grep", "-q", "10.0.0", "{{staged}}"},
		Reload: []string{"touch", marker}, Target: apply.LocalTarget{Root: root}}
	rt := &fakeRuntime{v: hversion.MustParse("3.0"), servers: map[string]Server{}}
	w := &Watcher{Runtime: rt, Persister: &countPersister{}, Files: []*File{f},
		Backends: []Backend{{Name: "be", Source: &fixed{ans: discovery.Answer{Targets: []discovery.Target{tgt("b_80", "10.0.0.2", 80, 1, false), tgt("a_80", "10.0.0.1", 80, 1, false)}}}}}}
	if _, err := w.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(root, "etc/hosts.d/lb"))
	if string(got) != "10.0.0.1 a_80\n10.0.0.2 b_80\n" {
		t.Errorf("file:\n%s", got)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("no reload: %v", err)
	}
	// A check that refuses: the file stays.
	f.Check = []string{"false"}
	w.Backends[0].Source = &fixed{ans: discovery.Answer{Targets: []discovery.Target{tgt("c_80", "10.0.0.3", 80, 1, false), tgt("a_80", "10.0.0.1", 80, 1, false), tgt("b_80", "10.0.0.2", 80, 1, false)}}}
	if _, err := w.Once(context.Background()); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("refused check: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(root, "etc/hosts.d/lb")); string(after) != string(got) {
		t.Errorf("file replaced despite the check:\n%s", after)
	}
}
