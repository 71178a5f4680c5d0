package apply

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"harpy/check"
	"harpy/initscripts"
	"harpy/internal/testenv"
)

// Units and environment files as the distributions ship them (Debian 12, Fedora/EL9,
// EL7), trimmed to what matters.
const (
	debianUnit = `[Unit]
Description=HAProxy Load Balancer
[Service]
EnvironmentFile=-/etc/default/haproxy
EnvironmentFile=-/etc/sysconfig/haproxy
Environment="CONFIG=/etc/haproxy/haproxy.cfg" "PIDFILE=/run/haproxy.pid" "EXTRAOPTS=-S /run/haproxy-master.sock"
ExecStart=/usr/sbin/haproxy -Ws -f $CONFIG -p $PIDFILE $EXTRAOPTS
ExecReload=/usr/sbin/haproxy -Ws -f $CONFIG -c -q $EXTRAOPTS
ExecReload=/bin/kill -USR2 $MAINPID
`
	fedoraUnit = `[Service]
Environment="CONFIG=/etc/haproxy/haproxy.cfg" "PIDFILE=/run/haproxy.pid" "CFGDIR=/etc/haproxy/conf.d"
EnvironmentFile=/etc/sysconfig/haproxy
ExecStartPre=/usr/sbin/haproxy -f $CONFIG -f $CFGDIR -c -q $OPTIONS
ExecStart=/usr/sbin/haproxy -Ws -f $CONFIG -f $CFGDIR -p $PIDFILE $OPTIONS
ExecReload=/usr/sbin/haproxy -f $CONFIG -f $CFGDIR -c -q $OPTIONS
ExecReload=/bin/kill -USR2 $MAINPID
`
	el7Unit = `[Service]
EnvironmentFile=/etc/sysconfig/haproxy
ExecStartPre=/usr/sbin/haproxy -f /etc/haproxy/haproxy.cfg -c -q
ExecStart=/usr/sbin/haproxy-systemd-wrapper -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid $OPTIONS
`
)

func TestDiscoverService(t *testing.T) {
	harpyUnit, err := initscripts.Unit(initscripts.UnitOptions{Bin: "/usr/sbin/haproxy", Notify: true})
	if err != nil {
		t.Fatal(err)
	}
	const staged = "/etc/haproxy/.haproxy.cfg.1.tmp"
	for _, tt := range []struct {
		name    string
		files   map[string]string
		want    []string // the check's argv; "R" stands for the root
		config  string
		dir     string
		wantErr string
	}{
		{name: "nothing installed: harpy's defaults",
			want: []string{"haproxy", "-c", "-V", "-f", "R" + staged}},
		{name: "Debian unit, default file untouched",
			files: map[string]string{"lib/systemd/system/haproxy.service": debianUnit, "etc/default/haproxy": "# Defaults file for HAProxy\n#EXTRAOPTS=\"-de -m 16\"\n"},
			want:  []string{"/usr/sbin/haproxy", "-c", "-V", "-f", "R" + staged, "-S", "/run/haproxy-master.sock"}},
		{name: "Debian unit, EXTRAOPTS set",
			files: map[string]string{"lib/systemd/system/haproxy.service": debianUnit, "etc/default/haproxy": "EXTRAOPTS=\"-de -m 16\"\n"},
			want:  []string{"/usr/sbin/haproxy", "-c", "-V", "-f", "R" + staged, "-de", "-m", "16"}},
		{name: "Debian unit overridden in /etc, CONFIG moved",
			files:  map[string]string{"lib/systemd/system/haproxy.service": debianUnit, "etc/systemd/system/haproxy.service": strings.Replace(debianUnit, "[Service]", "[Service]\nWorkingDirectory=/etc/haproxy", 1), "etc/default/haproxy": "export CONFIG=/etc/haproxy/site.cfg # moved\n"},
			config: "/etc/haproxy/site.cfg", dir: "/etc/haproxy",
			want: []string{"/usr/sbin/haproxy", "-c", "-V", "-f", "R" + staged, "-S", "/run/haproxy-master.sock"}},
		{name: "Fedora/EL9 unit: CFGDIR and OPTIONS",
			files: map[string]string{"usr/lib/systemd/system/haproxy.service": fedoraUnit, "etc/sysconfig/haproxy": "# Add extra options to the haproxy daemon here.\nOPTIONS=\"-L peer1\"\n"},
			want:  []string{"/usr/sbin/haproxy", "-c", "-V", "-f", "R" + staged, "-f", "R/etc/haproxy/conf.d", "-L", "peer1"}},
		{name: "Fedora unit without its EnvironmentFile",
			files:   map[string]string{"usr/lib/systemd/system/haproxy.service": fedoraUnit},
			wantErr: "EnvironmentFile= of"},
		{name: "EL7: the wrapper's check line, not the wrapper",
			files: map[string]string{"usr/lib/systemd/system/haproxy.service": el7Unit, "etc/sysconfig/haproxy": "OPTIONS=\"\"\n"},
			want:  []string{"/usr/sbin/haproxy", "-c", "-V", "-f", "R" + staged}},
		{name: "harpy's own unit",
			files: map[string]string{"usr/lib/systemd/system/haproxy.service": string(harpyUnit), "etc/sysconfig/haproxy": string(initscripts.Sysconfig())},
			want:  []string{"/usr/sbin/haproxy", "-c", "-V", "-f", "R" + staged, "-S", "/run/haproxy-master.sock"}},
		{name: "el6 init script: sysconfig CONFIG and OPTIONS",
			files:  map[string]string{"etc/sysconfig/haproxy": "CONFIG=/etc/haproxy/alt.cfg\nOPTIONS='-f /etc/haproxy/more.cfg'\n"},
			config: "/etc/haproxy/alt.cfg",
			want:   []string{"haproxy", "-c", "-V", "-f", "R" + staged, "-f", "R/etc/haproxy/more.cfg"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for p, data := range tt.files {
				write(t, filepath.Join(root, p), data, 0o644, -1, -1)
			}
			tg := LocalTarget{Root: root}
			s, err := DiscoverService(t.Context(), tg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = strings.Replace(w, "R/", root+"/", 1)
			}
			if got := s.CheckArgs(tg, "", staged); !slices.Equal(got, want) {
				t.Errorf("argv\n got %q\nwant %q", got, want)
			}
			if tt.config == "" {
				tt.config = defaultConfig
			}
			if tt.dir == "" {
				tt.dir = "/"
			}
			if s.Config != tt.config || s.Dir != tt.dir || len(tt.files) > 0 && len(s.From) == 0 {
				t.Errorf("config %q dir %q from %v", s.Config, s.Dir, s.From)
			}
			// --binary wins over the unit's.
			if got := s.CheckArgs(tg, "/opt/haproxy", staged); got[0] != "/opt/haproxy" {
				t.Errorf("binary %q", got[0])
			}
		})
	}
}

func TestWords(t *testing.T) {
	for in, want := range map[string][]string{
		`"CONFIG=/etc/haproxy/haproxy.cfg" "EXTRAOPTS=-S /run/x.sock"`: {"CONFIG=/etc/haproxy/haproxy.cfg", "EXTRAOPTS=-S /run/x.sock"},
		`A=1  B='two words' C=a\ b`:                                    {"A=1", "B=two words", "C=a b"},
		``:                                                             nil,
		`""`:                                                           {""},
	} {
		if got := words(in); !slices.Equal(got, want) {
			t.Errorf("words(%q) = %q, want %q", in, got, want)
		}
	}
	env := map[string]string{"CONFIG": "/c.cfg", "OPTS": "-a  -b", "EMPTY": ""}
	got := expand([]string{"-f", "$CONFIG", "$OPTS", "${OPTS}", "x=${CONFIG}y", "$EMPTY", "$", "a$CONFIG"}, env)
	want := []string{"-f", "/c.cfg", "-a", "-b", "-a  -b", "x=/c.cfgy", "$", "a/c.cfg"}
	if !slices.Equal(got, want) {
		t.Errorf("expand = %q, want %q", got, want)
	}
}

func TestCommandReloader(t *testing.T) {
	tg := LocalTarget{Root: t.TempDir()}
	if err := os.MkdirAll(tg.Path("/srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		c       Command
		wantErr string
	}{
		{Command{Argv: []string{"true"}}, ""},
		{Command{}, ""},
		{Command{Argv: []string{"sh", "-c", "echo no worker; exit 3"}}, "reload: sh -c echo no worker; exit 3: exit status 3\nno worker"},
		{Command{Argv: []string{"true"}, ConfirmArgv: []string{"sh", "-c", "test \"$PWD\" = /srv"}, Dir: "/srv"}, "confirm"},
		{Command{Argv: []string{"no-such-reload-command"}}, "executable file not found"},
	} {
		err := tt.c.Reload(t.Context(), tg)
		if err == nil {
			err = tt.c.Confirm(t.Context(), tg)
		}
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%+v: err %v, want %q", tt.c, err, tt.wantErr)
		}
	}
	// The command runs in Dir under the root.
	c := Command{Argv: []string{"sh", "-c", "test \"$PWD\" = " + tg.Path("/srv")}, Dir: "/srv"}
	if err := c.Reload(t.Context(), tg); err != nil {
		t.Error(err)
	}
}

const cfgHead = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"

// TestServiceCheckWithHAProxy: the real haproxy -c runs with the service's flags and in
// its working directory, where the staged file will live.
func TestServiceCheckWithHAProxy(t *testing.T) {
	bin := testenv.Tool(t, "/usr/sbin/haproxy")
	relErrorfile := cfgHead + "    errorfile 503 errors/503.http\n\nlisten l\n    bind 127.0.0.1:18093\n    server s 127.0.0.1:18092\n"
	backendElsewhere := cfgHead + "\nfrontend f\n    bind 127.0.0.1:18091\n    default_backend b\n"
	const errorPage = "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\ndown\n"
	for _, tt := range []struct {
		name    string
		files   map[string]string
		cfg     string
		wantErr string // in haproxy's output
	}{
		// Relative paths resolve against the working directory, not the config's folder:
		// errors/ beside haproxy.cfg is not found by a service running in /.
		{name: "relative errorfile, service in /", cfg: relErrorfile,
			files:   map[string]string{"etc/haproxy/errors/503.http": errorPage},
			wantErr: "errors/503.http"},
		{name: "relative errorfile, WorkingDirectory=/etc/haproxy", cfg: relErrorfile,
			files: map[string]string{"etc/haproxy/errors/503.http": errorPage,
				"etc/systemd/system/haproxy.service": strings.Replace(debianUnit, "[Service]", "[Service]\nWorkingDirectory=/etc/haproxy", 1)}},
		{name: "backend only in OPTIONS' extra file: without it", cfg: backendElsewhere,
			wantErr: "unable to find required default_backend"},
		{name: "backend only in OPTIONS' extra file: el6 sysconfig", cfg: backendElsewhere,
			files: map[string]string{"etc/sysconfig/haproxy": "OPTIONS=\"-f /etc/haproxy/backends.cfg\"\n",
				"etc/haproxy/backends.cfg": "backend b\n    server s 127.0.0.1:18090\n"}},
		{name: "an EXTRAOPTS haproxy refuses", cfg: backendElsewhere + "\nbackend b\n",
			files:   map[string]string{"etc/default/haproxy": "EXTRAOPTS=\"-f /etc/haproxy/missing.cfg\"\n"},
			wantErr: "missing.cfg"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for p, data := range tt.files {
				write(t, filepath.Join(root, p), data, 0o644, -1, -1)
			}
			write(t, filepath.Join(root, "etc/haproxy/haproxy.cfg"), "old\n", 0o640, -1, -1)
			before := snapshot(t, root)
			_, err := Tx{Target: LocalTarget{Root: root}, Files: []File{{Name: "etc/haproxy/haproxy.cfg", Data: []byte(tt.cfg)}},
				Validate: HAProxy{Binary: bin}}.Run(t.Context())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if read(t, filepath.Join(root, "etc/haproxy/haproxy.cfg")) != tt.cfg {
					t.Error("not installed")
				}
				return
			}
			var he *check.HAProxyError
			if !errors.As(err, &he) || !strings.Contains(he.Output, tt.wantErr) {
				t.Fatalf("want haproxy's refusal naming %q, got %v", tt.wantErr, err)
			}
			if d := diffTrees(before, snapshot(t, root)); d != "" {
				t.Errorf("a refused config changed the tree:%s", d)
			}
		})
	}
}

// TestValidateNeedsTheServiceConfig: checking files that do not include the config the
// service reads would prove nothing.
func TestValidateNeedsTheServiceConfig(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "etc/sysconfig/haproxy"), "CONFIG=/etc/haproxy/site.cfg\n", 0o644, -1, -1)
	_, err := Tx{Target: LocalTarget{Root: root}, Files: []File{{Name: "etc/haproxy/haproxy.cfg", Data: []byte("x\n")}},
		Validate: HAProxy{Binary: "false"}}.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "site.cfg") || !strings.Contains(err.Error(), "not among the files") {
		t.Fatalf("err %v", err)
	}
	// A staged file in a directory the service loads with -f would be skipped by name.
	write(t, filepath.Join(root, "usr/lib/systemd/system/haproxy.service"), fedoraUnit, 0o644, -1, -1)
	write(t, filepath.Join(root, "etc/sysconfig/haproxy"), "OPTIONS=\n", 0o644, -1, -1)
	_, err = Tx{Target: LocalTarget{Root: root}, Files: []File{{Name: "etc/haproxy/haproxy.cfg", Data: []byte("x\n")}, {Name: "etc/haproxy/conf.d/10-app.cfg", Data: []byte("y\n")}},
		Validate: HAProxy{Binary: "true"}}.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "a directory the service loads with -f") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/haproxy/haproxy.cfg")); err == nil {
		t.Error("installed without a check")
	}
}
