package livetest

import (
	"os"
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	for _, c := range []struct {
		file    string
		want    WrkResult
		failed  int
		wantErr bool
	}{
		{"wrk-non2xx.txt", WrkResult{Requests: 1255, Duration: 2010 * time.Millisecond, ReqPerSec: 624.58, Non2xx: 1255}, 1255, false},
		{"wrk-socket-errors.txt", WrkResult{Requests: 133725, Duration: 20100 * time.Millisecond, ReqPerSec: 6653.48,
			Non2xx: 1, Read: 30, Write: 2, Timeout: 1}, 34, false},
		{"show-stat-2.6.csv", WrkResult{}, 0, true}, // not a wrk report
	} {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseWrk(b)
			if (err != nil) != c.wantErr {
				t.Fatalf("ParseWrk err = %v, want error %v", err, c.wantErr)
			}
			if c.wantErr {
				return
			}
			if got != c.want {
				t.Errorf("ParseWrk = %+v, want %+v", got, c.want)
			}
			if got.Failed() != c.failed {
				t.Errorf("Failed() = %d, want %d", got.Failed(), c.failed)
			}
		})
	}
}

func TestAdjustRsyslog(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		wantErr        bool
	}{
		{"rainerscript", `input(type="imudp" address="127.0.0.1" port="514")` + "\n" + `action(type="omfile" file="/var/log/haproxy/haproxy.log")`,
			`input(type="imudp" address="127.0.0.1" port="5514")` + "\n" + `action(type="omfile" file="/t/log/haproxy/haproxy.log")`, false},
		{"legacy", "$UDPServerRun 514\nlocal6.* -/var/log/haproxy/haproxy.log", "$UDPServerRun 5514\nlocal6.* -/t/log/haproxy/haproxy.log", false},
		{"already adjusted", `input(type="imudp" port="5514")`, `input(type="imudp" port="5514")`, false},
		{"no udp input", `module(load="imuxsock")`, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := AdjustRsyslog(c.in, 5514, "/t/log")
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if got != c.want {
				t.Errorf("AdjustRsyslog =\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func TestParseAccess(t *testing.T) {
	e, ok := parseAccess(`127.0.0.1 "GET /xff HTTP/1.1" 200 xff="127.0.0.5" ua="Go-http-client/1.1"`)
	if want := (AccessEntry{Request: "GET /xff HTTP/1.1", Status: "200", XFF: "127.0.0.5", UA: "Go-http-client/1.1"}); !ok || e != want {
		t.Errorf("parseAccess = %+v %v, want %+v", e, ok, want)
	}
	if e, _ := parseAccess(`127.0.0.1 "GET /xff HTTP/1.1" 200 xff="-" ua="-"`); e.XFF != "" || e.UA != "" {
		t.Errorf("parseAccess kept nginx's \"-\" for a missing header: %+v", e)
	}
	if _, ok := parseAccess("garbage"); ok {
		t.Error("parseAccess accepted garbage")
	}
}
