package runtimeapi

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"harpy/hint"
	"harpy/hversion"
)

// Column sets of show stat's header by era: 62 names in 1.6, 74 in 1.7; 2.4+ adds more
// and a "-" marker after which the order is not guaranteed.
var (
	cols16 = strings.Split("pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime", ",")
	cols17 = append(append([]string{}, cols16...), strings.Split("agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr", ",")...)
	cols24 = append(append([]string{}, cols17...), strings.Split("cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,-,h1_open_connections,ssl_sess,h2_headers_rcvd", ",")...)
)

// csvOf renders rows (name → value) under a header of cols, as HAProxy does (trailing comma).
func csvOf(cols []string, rows []map[string]string) string {
	var b strings.Builder
	b.WriteString("# " + strings.Join(cols, ",") + ",\n")
	for _, r := range rows {
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = r[c]
		}
		b.WriteString(strings.Join(vals, ",") + ",\n")
	}
	b.WriteString("\n")
	return b.String()
}

var sampleRows = []map[string]string{
	{"pxname": "app", "svname": "FRONTEND", "status": "OPEN", "type": "0", "scur": "3"},
	{"pxname": "app", "svname": "web1", "status": "UP", "type": "2", "weight": "10", "scur": "2", "smax": "9", "rate": "4", "check_status": "L7OK", "lastchg": "61", "addr": "10.0.0.1:80"},
	{"pxname": "app", "svname": "web2", "status": "DOWN 1/2", "type": "2", "weight": "0", "check_status": "L4CON"},
	{"pxname": "app", "svname": "BACKEND", "status": "UP", "type": "1"},
}

func TestParseStatsByHeader(t *testing.T) {
	for _, c := range []struct {
		name string
		cols []string
	}{{"1.6", cols16}, {"1.7", cols17}, {"2.4", cols24}} {
		t.Run(c.name, func(t *testing.T) {
			st, err := ParseStats(strings.NewReader(csvOf(c.cols, sampleRows)))
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Columns) != len(c.cols) || len(st.Rows) != len(sampleRows) {
				t.Fatalf("%d columns %d rows, want %d %d", len(st.Columns), len(st.Rows), len(c.cols), len(sampleRows))
			}
			r := Find(st.Rows, "app", "web2")
			if r.Status() != "DOWN 1/2" || r["check_status"] != "L4CON" || !r.IsServer() {
				t.Errorf("web2 = %v", r)
			}
			if got := Find(st.Rows, "app", "web1")["addr"]; (got == "") == (c.name != "1.6") {
				t.Errorf("addr %q in a %s header", got, c.name)
			}
			if _, ok := Find(st.Rows, "app", "web1")["-"]; ok {
				t.Error("the - marker became a column")
			}
		})
	}
}

// Any order of the columns gives the same rows: nothing is read by position.
func TestParseStatsShuffled(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		cols := append([]string{}, cols24...)
		rng.Shuffle(len(cols), func(a, b int) { cols[a], cols[b] = cols[b], cols[a] })
		st, err := ParseStats(strings.NewReader(csvOf(cols, sampleRows)))
		if err != nil {
			t.Fatalf("shuffle %d: %v", i, err)
		}
		for j, want := range sampleRows {
			for k, v := range want {
				if st.Rows[j][k] != v {
					t.Fatalf("shuffle %d row %d %s = %q, want %q (header %v)", i, j, k, st.Rows[j][k], v, cols)
				}
			}
		}
	}
}

func TestParseStatsReal26(t *testing.T) {
	f, err := os.Open("testdata/show-stat-2.6.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := ParseStat(f)
	if err != nil {
		t.Fatal(err)
	}
	if r := Find(rows, "app", "web11"); r.Status() != "MAINT" {
		t.Errorf("app/web11 = %v", r)
	}
}

func TestParseStatsRefuses(t *testing.T) {
	for _, in := range []string{
		"",
		"Unknown command, but maybe one of the following\n",
		"# pxname,svname,\n",               // header, no rows
		"# qcur,status,\na,b,\n",           // no pxname/svname
		"# pxname,svname,pxname,\na,b,c\n", // duplicate column
	} {
		if _, err := ParseStats(strings.NewReader(in)); err == nil {
			t.Errorf("ParseStats(%q) accepted it", in)
		}
	}
}

func FuzzParseStats(f *testing.F) {
	f.Add(csvOf(cols24, sampleRows))
	f.Add(csvOf(cols16, sampleRows[:1]))
	f.Add("# pxname,svname,\n\"a,b\",c\n")
	f.Fuzz(func(t *testing.T, in string) {
		st, err := ParseStats(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range st.Rows {
			for k := range r {
				if k == "-" {
					t.Fatal("marker column kept")
				}
			}
		}
	})
}

func TestParseInfo(t *testing.T) {
	in := ParseInfo("Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nRelease_date: 2026/10/17\nPid: 42\nnot a line\n\n")
	v, err := in.Version()
	if err != nil || v.String() != "2.6.12" {
		t.Errorf("Version = %v %v", v, err)
	}
	if in.Values["Pid"] != "42" || len(in.Keys) != 4 {
		t.Errorf("info = %+v", in)
	}
	for raw, want := range map[string]string{"3.1-dev4": "3.1", "1.6.16": "1.6.16", "2.2.9": "2.2.9"} {
		v, err := ParseInfo("Version: " + raw).Version()
		if err != nil || v.String() != want {
			t.Errorf("%s → %v %v, want %s", raw, v, err, want)
		}
	}
	if _, err := ParseInfo("Name: HAProxy\n").Version(); err == nil {
		t.Error("no Version line accepted")
	}
}

func TestParseServersState(t *testing.T) {
	out := "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port\n" +
		"3 app 1 web1 127.0.0.2 0 8 10 1 0 8 2 0 6 0 0 0 - 18083\n3 app 2 web2 127.0.0.1 2 0 50 50 2 1 0 2 0 0 0 0 - 18082\n\n"
	ss, err := ParseServersState(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || ss[0]["srv_name"] != "web1" || ss[0]["srv_check_state"] != "6" || ss[1]["srv_port"] != "18082" {
		t.Errorf("got %v", ss)
	}
	if _, err := ParseServersState("Unknown command\n"); err == nil {
		t.Error("accepted a non-state answer")
	}
}

func TestParseProcs(t *testing.T) {
	for _, c := range []struct {
		name, out string
		want      []Proc
	}{
		{"1.9", "#<PID>          <type>          <relative PID>  <reloads>       <uptime>        <version>\n" +
			"1000            master          0               2               0d00h10m00s     1.9.16\n# workers\n" +
			"1012            worker          1               0               0d00h01m00s     1.9.16\n# old workers\n" +
			"1005            worker          [was: 1]        1               0d00h05m00s     1.9.16\n# programs\n\n",
			[]Proc{{PID: 1000, Type: "master", Reloads: 2, Uptime: "0d00h10m00s", Version: "1.9.16"},
				{PID: 1012, Type: "worker", RelativePID: 1, Uptime: "0d00h01m00s", Version: "1.9.16"},
				{PID: 1005, Type: "worker", RelativePID: 1, Reloads: 1, Uptime: "0d00h05m00s", Version: "1.9.16", Old: true}}},
		{"2.6", "#<PID>          <type>          <reloads>       <uptime>        <version>      \n" +
			"32603           master          0 [failed: 0]   0d00h00m03s     2.6.12-1+deb12u4\n# workers\n" +
			"32612           worker          0               0d00h00m03s     2.6.12-1+deb12u4\n# programs\n\n",
			[]Proc{{PID: 32603, Type: "master", Uptime: "0d00h00m03s", Version: "2.6.12-1+deb12u4"},
				{PID: 32612, Type: "worker", Uptime: "0d00h00m03s", Version: "2.6.12-1+deb12u4"}}},
		{"3.0 failed reload", "#<PID>          <type>          <reloads>       <uptime>        <version>\n" +
			"7               master          3 [failed: 1]   0d01h00m00s     3.0.11\n# workers\n" +
			"9               worker          0               0d00h00m10s     3.0.11\n# old workers\n" +
			"8               worker          1               0d00h30m00s     3.0.11\n",
			[]Proc{{PID: 7, Type: "master", Reloads: 3, Failed: 1, Uptime: "0d01h00m00s", Version: "3.0.11"},
				{PID: 9, Type: "worker", Uptime: "0d00h00m10s", Version: "3.0.11"},
				{PID: 8, Type: "worker", Reloads: 1, Uptime: "0d00h30m00s", Version: "3.0.11", Old: true}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseProcs(c.out)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
	if _, err := ParseProcs("Name: HAProxy\n"); err == nil {
		t.Error("a stats socket's answer parsed as show proc")
	}
}

func FuzzParseProcs(f *testing.F) {
	f.Add("#<PID> <type> <reloads>\n1 master 0 [failed: 0]\n# workers\n2 worker 0\n")
	f.Add("#<PID>\n[ [ [\n")
	f.Fuzz(func(t *testing.T, in string) { _, _ = ParseProcs(in) })
}

func TestAnswerError(t *testing.T) {
	for _, c := range []struct {
		out      string
		severity bool
		want     string // "" no error, "level", "command"
	}{
		{"\n", true, ""},
		{"[3]: No such server.\n\n", true, "command"},
		{"[4]: IP changed from '127.0.0.1' to '127.0.0.2' by 'stats socket command'\n", true, ""},
		{"[6]: New server registered.\n", true, ""},
		{"[6]: Unknown command, but maybe one of the following ones is a better match:\n  show fd\n", true, "command"},
		{"[3]: Permission denied\n", true, "level"},
		{"Permission denied\n", false, "level"},
		{"No such server.\n", false, "command"},
		{"Can't find the target PID matching the prefix '@9'\n", false, "command"},
		{"# pxname,svname,\n", false, ""},
		{"Name: HAProxy\nVersion: 1.7.14\n", false, ""},
		// a marker above error level wins over the phrases
		{"[5]: Invalid entries were skipped\n", true, ""},
		{"Unknown command\n", true, "command"},
	} {
		err := answerError("set weight app/web1 1", c.out)
		var le *LevelError
		var ce *CommandError
		got := ""
		switch {
		case errors.As(err, &le):
			got = "level"
		case errors.As(err, &ce):
			got = "command"
		case err != nil:
			got = "other"
		}
		if got != c.want {
			t.Errorf("answerError(%q, severity %v) = %v (%s), want %s", c.out, c.severity, err, got, c.want)
		}
		if got == "level" && (le.Need != "admin" || !strings.Contains(hint.Of(err), "level admin")) {
			t.Errorf("level error %v hint %q does not name level admin", err, hint.Of(err))
		}
	}
}

func TestVerbs(t *testing.T) {
	for _, c := range []struct {
		cmd, since string
	}{
		{"show stat", "1.4"},
		{"show stat json", "1.8"},
		{"set server app/web1 addr 10.0.0.1", "1.6"},
		{"set server app/web1 addr 10.0.0.1 port 80", "1.7"},
		{"set server app/web1 state drain", "1.5"},
		{"@1 show proc", "1.9"},
		{"add server app/web3 10.0.0.3:80", "2.4"},
		{"wait 10s srv-removable app/web3", "3.0"},
	} {
		vb, ok := VerbOf(c.cmd)
		if !ok || vb.Since.String() != c.since {
			t.Errorf("VerbOf(%q) = %+v %v, want since %s", c.cmd, vb, ok, c.since)
			continue
		}
		older := hversion.MustParse(c.since)
		older.Minor--
		if older.Minor < 0 {
			older.Major--
			older.Minor = 9
		}
		err := vb.Check(older)
		var ve *VersionError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), c.since) || !strings.Contains(err.Error(), older.String()) || hint.Of(err) == "" {
			t.Errorf("%q on %s: %v, want a VersionError naming %s and %s with a hint", c.cmd, older, err, c.since, older)
		}
		if err := vb.Check(hversion.MustParse(c.since)); err != nil {
			t.Errorf("%q on %s: %v", c.cmd, c.since, err)
		}
	}
	if _, ok := VerbOf("frobnicate app"); ok {
		t.Error("an unknown command matched a verb")
	}
	add, _ := VerbOf("add server a/b 1.2.3.4:1")
	if !add.Experimental(hversion.MustParse("2.5.14")) || add.Experimental(hversion.MustParse("2.6.0")) {
		t.Error("add server must be experimental exactly in 2.4 and 2.5")
	}
}

func TestCloseNames(t *testing.T) {
	have := []string{"app/web1", "app/web2", "app/web10", "app/db1"}
	got := closeNames("app/web3", have)
	if len(got) < 2 || got[0] != "app/web1" && got[0] != "app/web2" {
		t.Errorf("closeNames = %v", got)
	}
	for _, g := range got {
		if g == "app/db1" {
			t.Errorf("app/db1 is not close to app/web3: %v", got)
		}
	}
	if got := closeNames("zzzzzzzzzz", have); len(got) != 0 {
		t.Errorf("closeNames of a far name = %v", got)
	}
	err := unknownError("server", "app/web3", have)
	if !hint.IsInput(err) || !strings.Contains(hint.Of(err), "app/web1") {
		t.Errorf("unknown server: %v (hint %q), want bad input listing app/web1", err, hint.Of(err))
	}
}

func TestSocketFromConfig(t *testing.T) {
	for _, c := range []struct{ cfg, want string }{
		{"global\n  log /dev/log local0\n  stats socket /run/haproxy/admin.sock mode 660 level admin\n  stats socket ipv4@127.0.0.1:9999\n", "/run/haproxy/admin.sock"},
		{"global\n  # stats socket /old.sock\n  stats socket ipv4@127.0.0.1:9999 level admin # tcp\n", "ipv4@127.0.0.1:9999"},
		{"global\n  daemon\nfrontend f\n  stats socket /not/global.sock\n", ""},
		{"defaults\n  mode http\n", ""},
	} {
		got, err := socketFromConfig(strings.NewReader(c.cfg))
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("socketFromConfig(%q) = %q %v, want %q", c.cfg, got, err, c.want)
		}
	}
	_, err := SocketFromConfig(t.TempDir() + "/none.cfg")
	if !hint.IsInput(err) || !strings.Contains(hint.Of(err), "--socket") {
		t.Errorf("missing config: %v", err)
	}
}

func TestNetwork(t *testing.T) {
	for addr, want := range map[string]string{
		"/run/haproxy/admin.sock": "unix /run/haproxy/admin.sock",
		"admin.sock":              "unix admin.sock",
		"127.0.0.1:9999":          "tcp 127.0.0.1:9999",
		"localhost:9999":          "tcp localhost:9999",
		"[::1]:9999":              "tcp [::1]:9999",
		"ipv4@127.0.0.1:9999":     "tcp4 127.0.0.1:9999",
		"unix@/x/y.sock":          "unix /x/y.sock",
		"c:sock":                  "unix c:sock",
	} {
		n, a := Network(addr)
		if n+" "+a != want {
			t.Errorf("Network(%q) = %s %s, want %s", addr, n, a, want)
		}
	}
}
