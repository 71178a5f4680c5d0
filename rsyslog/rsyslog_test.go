package rsyslog

import (
	"fmt"
	"net"
	"slices"
	"time"

	"bytes"
	"flag"
	"harpy/distro"
	"harpy/internal/testport"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"harpy/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var inputs = map[string]Options{
	"udp":    {Facility: "local2", UDPAddress: "127.0.0.1", UDPPort: 514},
	"socket": {Facility: "local0", Socket: "/var/lib/haproxy/dev/log", File: "/var/log/haproxy.log", Rotate: 7},
}

func TestGolden(t *testing.T) {
	for name, o := range inputs {
		for _, d := range dists() {
			t.Run(name+"/"+d, func(t *testing.T) {
				o.Dist, o.Profile = d, "test"
				drop, err := DropIn(o)
				if err != nil {
					t.Fatal(err)
				}
				lr, err := Logrotate(o)
				if err != nil {
					t.Fatal(err)
				}
				got := append(append(drop, "----\n"...), lr...)
				path := filepath.Join("testdata", name+"-"+d+".golden")
				if *update {
					if err := os.MkdirAll("testdata", 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs:\n%s", path, got)
				}
			})
		}
	}
}

// TestSyntaxBySyslogVersion: rsyslog 5 (el6) gets legacy directives only, rsyslog 8 gets
// RainerScript with stop; both stop the facility after writing it.
func TestSyntaxBySyslogVersion(t *testing.T) {
	o := inputs["udp"]
	o.Dist = "el6"
	legacy, _ := DropIn(o)
	for _, w := range []string{"$ModLoad imudp\n", "$UDPServerAddress 127.0.0.1\n$UDPServerRun 514\n", "local2.* -/var/log/haproxy/haproxy.log\n& ~\n"} {
		if !strings.Contains(string(legacy), w) {
			t.Errorf("el6 lacks %q:\n%s", w, legacy)
		}
	}
	if strings.Contains(string(legacy), "input(") || strings.Contains(string(legacy), "module(") || strings.Contains(string(legacy), "stop") {
		t.Errorf("el6 (rsyslog 5) cannot read RainerScript:\n%s", legacy)
	}
	o.Dist = "el7"
	rainer, _ := DropIn(o)
	for _, w := range []string{`input(type="imudp" address="127.0.0.1" port="514")`, "    stop\n"} {
		if !strings.Contains(string(rainer), w) {
			t.Errorf("el7 lacks %q:\n%s", w, rainer)
		}
	}
}

func TestRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    Options
		want string
	}{
		{"dist", Options{Dist: "el5", Facility: "local2", UDPAddress: "127.0.0.1", UDPPort: 514}, "unknown dist"},
		{"facility", Options{Dist: "el9", Facility: "local2\n*.* /tmp/x", UDPAddress: "127.0.0.1", UDPPort: 514}, "bad facility"},
		{"file", Options{Dist: "el9", Facility: "local2", UDPAddress: "127.0.0.1", UDPPort: 514, File: "/var/log/a b"}, "log file"},
		{"both", Options{Dist: "el9", Facility: "local2", UDPAddress: "127.0.0.1", UDPPort: 514, Socket: "/dev/log"}, "not both"},
		{"address", Options{Dist: "el9", Facility: "local2", UDPAddress: "localhost\"", UDPPort: 514}, "not an IP"},
		{"port", Options{Dist: "el9", Facility: "local2", UDPAddress: "127.0.0.1", UDPPort: 0}, "UDP port"},
		{"socket", Options{Dist: "el9", Facility: "local2", Socket: "dev/log\")"}, "not an absolute path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DropIn(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DropIn: %v, want %q", err, tt.want)
			}
			if _, err := Logrotate(tt.o); err == nil {
				t.Error("Logrotate accepted it")
			}
		})
	}
}

// TestRealTools: rsyslogd -N1 reads every drop-in inside a distribution-like main config,
// and logrotate -d every logrotate file.
func TestRealTools(t *testing.T) {
	rsyslogd := testenv.Tool(t, "rsyslogd")
	logrotate := testenv.Tool(t, "logrotate")
	for name, o := range inputs {
		for _, d := range dists() {
			t.Run(name+"/"+d, func(t *testing.T) {
				dir := t.TempDir()
				o.Dist = d
				o.File = filepath.Join(dir, "haproxy.log")
				drop, err := DropIn(o)
				if err != nil {
					t.Fatal(err)
				}
				dropPath := filepath.Join(dir, "49-haproxy.conf")
				write(t, dropPath, drop)
				load := `module(load="imuxsock")`
				if d == "el6" {
					load = "$ModLoad imuxsock"
				}
				conf := filepath.Join(dir, "rsyslog.conf")
				write(t, conf, []byte(load+"\n$WorkDirectory "+dir+"\n$IncludeConfig "+dropPath+"\n*.* "+filepath.Join(dir, "messages")+"\n"))
				out, err := exec.CommandContext(t.Context(), rsyslogd, "-N1", "-f", conf, "-i", filepath.Join(dir, "pid")).CombinedOutput()
				if err != nil || bytes.Contains(out, []byte("error")) {
					t.Fatalf("rsyslogd -N1: %v\n%s\n%s", err, out, drop)
				}
				lr, err := Logrotate(o)
				if err != nil {
					t.Fatal(err)
				}
				write(t, o.File, []byte("x\n"))
				lrPath := filepath.Join(dir, "haproxy")
				write(t, lrPath, lr)
				out, err = exec.CommandContext(t.Context(), logrotate, "-d", "-s", filepath.Join(dir, "state"), lrPath).CombinedOutput()
				if err != nil || bytes.Contains(bytes.ToLower(out), []byte("error")) || !bytes.Contains(out, []byte("considering log "+o.File)) {
					t.Fatalf("logrotate -d: %v\n%s\n%s", err, out, lr)
				}
			})
		}
	}
}

// dists are the names the goldens and real-tool tests cover: every dist and the alias.
func dists() []string { return append(distro.Names(), "debian") }

// TestFacilityDelivered: a real rsyslogd files a message of each facility HAProxy can name
// where the drop-in for that facility says, and nowhere else — the names HAProxy and
// rsyslog disagree on (auth2, cron2) included.
func TestFacilityDelivered(t *testing.T) {
	rsyslogd := testenv.Tool(t, "rsyslogd")
	dir := t.TempDir()
	port := testport.UDP(t, "127.0.0.1")
	conf := fmt.Sprintf("module(load=\"imudp\")\ninput(type=\"imudp\" address=\"127.0.0.1\" port=\"%d\")\n$WorkDirectory %s\n", port, dir)
	for _, f := range Facilities {
		drop, err := DropIn(Options{Dist: "el9", Facility: f, UDPAddress: "127.0.0.1", UDPPort: port, File: filepath.Join(dir, f+".log")})
		if err != nil {
			t.Fatal(err)
		}
		_, rule, ok := strings.Cut(string(drop), "\nif ")
		if !ok {
			t.Fatalf("no rule in\n%s", drop)
		}
		conf += "if " + rule
	}
	write(t, filepath.Join(dir, "rsyslog.conf"), []byte(conf))
	cmd := exec.CommandContext(t.Context(), rsyslogd, "-n", "-f", filepath.Join(dir, "rsyslog.conf"), "-i", filepath.Join(dir, "pid"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(20 * time.Second)
	for code, f := range Facilities {
		want := "harpy-test-" + f
		for {
			fmt.Fprintf(conn, "<%d>haproxy[1]: %s", code*8+6, want)
			b, _ := os.ReadFile(filepath.Join(dir, f+".log"))
			if bytes.Contains(b, []byte(want)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("facility %s (code %d) never reached %s.log; rsyslogd says:\n%s", f, code, f, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, f := range Facilities {
		b, _ := os.ReadFile(filepath.Join(dir, f+".log"))
		for _, other := range Facilities {
			if other != f && bytes.Contains(b, []byte("harpy-test-"+other+"\n")) {
				t.Errorf("%s.log holds a message of facility %s", f, other)
			}
		}
	}
}

func TestLegacyFacilities(t *testing.T) {
	for _, f := range Facilities {
		_, err := DropIn(Options{Dist: "el6", Facility: f, UDPAddress: "127.0.0.1", UDPPort: 514})
		if legacy := slices.Contains(legacyNames, f); (err == nil) != legacy {
			t.Errorf("el6 facility %s: %v", f, err)
		}
	}
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
