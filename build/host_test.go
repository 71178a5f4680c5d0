package build

import (
	"strings"
	"testing"

	"harpy/hint"
	"harpy/specs"
)

func TestCheckHost(t *testing.T) {
	cat, err := specs.Load()
	if err != nil {
		t.Fatal(err)
	}
	full := &Host{IncludeDirs: []string{"/usr/include"}, OpenSSL: "3.0.19", LuaInc: "/usr/include/lua5.4", LuaLib: "lua5.4", Lua: "5.4"}
	empty := &Host{IncludeDirs: []string{t.TempDir()}, OpenSSL: "3.0.19"}
	for _, tc := range []struct {
		name string
		req  specs.Request
		host *Host
		want []string // in error, or in args when ok
		ok   bool
	}{
		{"2.6 on this host", specs.Request{Version: "2.6.12"}, full, []string{"LUA_INC=/usr/include/lua5.4", "LUA_LIB_NAME=lua5.4"}, true},
		{"missing headers name packages", specs.Request{Version: "2.6.12"}, empty, []string{"openssl/ssl.h (for openssl)", "pcre2.h (for pcre2)", "apt-get install libssl-dev libpcre2-dev", "dnf install openssl-devel pcre2-devel"}, false},
		{"quic before 2.9 needs quictls", specs.Request{Version: "2.6.12", With: []string{"quic"}}, full, []string{"needs an OpenSSL with the QUIC API", "--without quic"}, false},
		{"1.6 cannot use OpenSSL 1.1+", specs.Request{Version: "1.6.0"}, &Host{IncludeDirs: []string{"/usr/include"}, OpenSSL: "3.0.19"}, []string{"before 1.7 cannot be built against OpenSSL 1.1", "CentOS 6/7"}, false},
		{"1.6 with OpenSSL 1.0 is fine", specs.Request{Version: "1.6.0"}, &Host{IncludeDirs: []string{"/usr/include"}, OpenSSL: "1.0.2"}, []string{"TARGET=linux2628"}, true},
		{"2.2 with its patch", specs.Request{Version: "2.2.9"}, full, []string{"EXTRA_OBJS=contrib/prometheus-exporter/service-prometheus.o"}, true},
		{"2.0 with lua 5.4", specs.Request{Version: "2.0.31", SHA256: strings.Repeat("a", 64), With: []string{"lua"}, Without: []string{"openssl"}}, full, []string{"Lua 5.3 only"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := cat.Resolve(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			args, err := CheckHost(p, tc.host)
			got := strings.Join(args, " ")
			if !tc.ok {
				if err == nil {
					t.Fatalf("accepted: %s", got)
				}
				got = err.Error() + " | " + hint.Of(err)
			} else if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
}

func TestOpenSSLVersionFromHeader(t *testing.T) {
	if v := openSSLVersion("/usr/include/openssl/opensslv.h"); !strings.HasPrefix(v, "3.") {
		t.Errorf("host OpenSSL %q", v)
	}
}
