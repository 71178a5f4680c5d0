package profiles

import (
	"strings"
	"testing"
)

func TestAllowPaths(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string // want "" means accepted
	}{
		{"log file outside without allow", `[logging]
file = "/srv/lb/haproxy.log"`, "outside the directories for log files"},
		{"log file in an allowed dir", `allow_paths = ["/srv/lb"]
[logging]
file = "/srv/lb/haproxy.log"`, ""},
		{"pidfile in an allowed dir", `allow_paths = ["/srv/lb/"]
[global]
pidfile = "/srv/lb/run/haproxy.pid"`, ""},
		{"etc cannot be allowed", `allow_paths = ["/etc"]
[logging]
file = "/etc/passwd"`, "allow_paths[0]: \"/etc\" is or holds a system directory"},
		{"root cannot be allowed", `allow_paths = ["/"]`, "is or holds a system directory"},
		{"a dir holding usr cannot be allowed", `allow_paths = ["/usr/local"]`, "is or holds a system directory"},
		{"relative", `allow_paths = ["srv"]`, "not an absolute path"},
		{"dot dot", `allow_paths = ["/srv/../etc"]`, "not an absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(t.Context(), "p.toml", []byte("extends = \"web-lb\"\n"+tc.doc+"\n"))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
