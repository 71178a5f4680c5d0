package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"harpy/hint"
	"harpy/runtimeapi"
)

// socketFlags are the flags every Runtime API command shares.
type socketFlags struct {
	socket, config string
	timeout        time.Duration
}

func (s *socketFlags) add(f *pflag.FlagSet) {
	f.StringVar(&s.socket, "socket", "", "stats socket: PATH or HOST:PORT (default: the first `stats socket` of --config)")
	f.StringVar(&s.config, "config", runtimeapi.DefaultConfig, "haproxy.cfg to take the stats socket from when --socket is not given")
	f.DurationVar(&s.timeout, "socket-timeout", runtimeapi.DefaultTimeout, "time limit of one Runtime API command")
}

// client resolves the socket (flag, else the config's `stats socket`) and returns its client.
func (s *socketFlags) client() (*runtimeapi.Client, error) {
	addr, origin := s.socket, ""
	if addr == "" {
		var err error
		if addr, err = runtimeapi.SocketFromConfig(s.config); err != nil {
			return nil, err
		}
		origin = s.config
	}
	c := runtimeapi.New(addr)
	c.Timeout, c.Origin = s.timeout, origin
	return c, nil
}

func newStatCmd() *cobra.Command {
	var sf socketFlags
	var asJSON, asCSV, info, watch bool
	var backend string
	var interval time.Duration
	c := &cobra.Command{
		Use:   "stat [BACKEND]",
		Short: "Show the proxies and servers of a running HAProxy (Runtime API `show stat`)",
		Long: `Show the proxies and servers of a running HAProxy through its stats socket: status, last check and
its result, weight, current/max sessions, session rate, time since the last change, address.

The socket is --socket PATH|HOST:PORT, else the first "stats socket" line of --config
(default /etc/haproxy/haproxy.cfg). --watch redraws every --interval (a live view in a
terminal, one block of plain lines per interval otherwise).`,
		Example: `  harpy stat
  harpy stat app --socket /run/haproxy/admin.sock
  harpy stat --json | jq '.[] | select(.status != "UP")'
  harpy stat --watch --interval 1s`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				if _, err := time.ParseDuration(args[0]); err == nil && watch {
					return usage(c, hint.With(fmt.Errorf("--watch takes no value (%q is read as a backend)", args[0]),
						"write `--watch --interval %s`", args[0]))
				}
				if backend != "" && backend != args[0] {
					return usage(c, fmt.Errorf("backend given twice: %q and --backend %q", args[0], backend))
				}
				backend = args[0]
			}
			if asJSON && asCSV {
				return usage(c, errors.New("--json and --csv exclude each other"))
			}
			if info && (asCSV || watch || backend != "") {
				return usage(c, errors.New("--info takes only --json"))
			}
			if watch && (asJSON || asCSV) {
				return usage(c, errors.New("--watch shows a table; --json and --csv are for one reading"))
			}
			if interval <= 0 {
				return usage(c, fmt.Errorf("--interval %s: want a positive duration such as 2s", interval))
			}
			api, err := sf.client()
			if err != nil {
				return err
			}
			ctx := c.Context()
			out := c.OutOrStdout()
			if info {
				in, err := api.Info(ctx)
				if err != nil {
					return err
				}
				return printInfo(out, in, asJSON)
			}
			if watch {
				return watchStat(ctx, out, api, backend, interval)
			}
			st, err := readStat(ctx, api, backend)
			if err != nil {
				return err
			}
			switch {
			case asJSON:
				return printStatJSON(out, st)
			case asCSV:
				return printStatCSV(out, st)
			}
			return printStatTable(out, st)
		},
	}
	f := c.Flags()
	sf.add(f)
	f.StringVar(&backend, "backend", "", "show only this proxy (the same as the BACKEND argument)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.BoolVar(&asCSV, "csv", false, "print HAProxy's CSV, every column")
	f.BoolVar(&info, "info", false, "print `show info` (process-wide figures) instead")
	f.BoolVar(&watch, "watch", false, "redraw every --interval until interrupted")
	f.DurationVar(&interval, "interval", 2*time.Second, "redraw interval of --watch")
	return c
}

// readStat reads show stat, narrowed to one proxy when backend is set (an unknown one is
// bad input with the close names).
func readStat(ctx context.Context, api *runtimeapi.Client, backend string) (*runtimeapi.Stats, error) {
	st, err := api.Stat(ctx)
	if err != nil {
		return nil, err
	}
	if backend == "" {
		return st, nil
	}
	var rows []runtimeapi.StatRow
	var names []string
	for _, r := range st.Rows {
		if r.Proxy() == backend {
			rows = append(rows, r)
		}
		if len(names) == 0 || names[len(names)-1] != r.Proxy() {
			names = append(names, r.Proxy())
		}
	}
	if len(rows) == 0 {
		if err := st.HasBackend(backend); err != nil {
			return nil, err
		}
		return nil, hint.Input(hint.With(fmt.Errorf("no proxy %q in show stat", backend), "the proxies are: %s", strings.Join(names, ", ")))
	}
	return &runtimeapi.Stats{Columns: st.Columns, Rows: rows}, nil
}

// StatLine is one row as `harpy stat` shows it (and --json prints it).
type StatLine struct {
	Proxy       string `json:"proxy"`
	Server      string `json:"server"`
	Status      string `json:"status"`
	CheckStatus string `json:"check_status,omitempty"`
	CheckCode   string `json:"check_code,omitempty"`
	LastCheck   string `json:"last_check,omitempty"`
	Weight      *int   `json:"weight,omitempty"`
	Sessions    int    `json:"sessions"`
	MaxSessions int    `json:"max_sessions"`
	SessionRate int    `json:"session_rate"`
	LastChange  *int   `json:"last_change_seconds,omitempty"`
	Addr        string `json:"addr,omitempty"`
}

func lineOf(r runtimeapi.StatRow) StatLine {
	l := StatLine{Proxy: r.Proxy(), Server: r.Server(), Status: r.Status(), CheckStatus: r["check_status"],
		CheckCode: r["check_code"], LastCheck: r["last_chk"], Sessions: r.Int("scur"), MaxSessions: r.Int("smax"),
		SessionRate: r.Int("rate"), Addr: r["addr"]}
	if n, err := strconv.Atoi(r["weight"]); err == nil {
		l.Weight = &n
	}
	if n, err := strconv.Atoi(r["lastchg"]); err == nil {
		l.LastChange = &n
	}
	return l
}

// StatLines are st's rows as harpy shows them.
func StatLines(st *runtimeapi.Stats) []StatLine {
	out := make([]StatLine, 0, len(st.Rows))
	for _, r := range st.Rows {
		out = append(out, lineOf(r))
	}
	return out
}

func printStatJSON(w io.Writer, st *runtimeapi.Stats) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(StatLines(st))
}

func printStatCSV(w io.Writer, st *runtimeapi.Stats) error {
	cw := csv.NewWriter(w)
	var cols []string
	for _, c := range st.Columns {
		if c != "-" {
			cols = append(cols, c)
		}
	}
	if err := cw.Write(cols); err != nil {
		return err
	}
	for _, r := range st.Rows {
		rec := make([]string, len(cols))
		for i, c := range cols {
			rec[i] = r[c]
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// StatHeader are the table's columns.
var StatHeader = []string{"PROXY", "SERVER", "STATUS", "CHECK", "LAST CHECK", "WEIGHT", "SESS/MAX", "RATE", "LASTCHG", "ADDR"}

// Cells are the table cells of a line.
func (l StatLine) Cells() []string {
	check := l.CheckStatus
	if l.CheckCode != "" {
		check += "/" + l.CheckCode
	}
	weight, last := "", ""
	if l.Weight != nil {
		weight = strconv.Itoa(*l.Weight)
	}
	if l.LastChange != nil {
		last = Ago(time.Duration(*l.LastChange) * time.Second)
	}
	lc := l.LastCheck
	if len(lc) > 32 {
		lc = lc[:31] + "…"
	}
	return []string{l.Proxy, l.Server, l.Status, dash(check), dash(lc), dash(weight),
		fmt.Sprintf("%d/%d", l.Sessions, l.MaxSessions), strconv.Itoa(l.SessionRate), dash(last), dash(l.Addr)}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Ago is a short duration: 45s, 3m12s, 2h05m, 4d03h.
func Ago(d time.Duration) string {
	s := int(d.Seconds())
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

func printStatTable(w io.Writer, st *runtimeapi.Stats) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(StatHeader, "\t"))
	for _, l := range StatLines(st) {
		fmt.Fprintln(tw, strings.Join(l.Cells(), "\t"))
	}
	return tw.Flush()
}

func printInfo(w io.Writer, in *runtimeapi.Info, asJSON bool) error {
	if asJSON {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(in.Values)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for _, k := range in.Keys {
		fmt.Fprintf(tw, "%s:\t%s\n", k, in.Values[k])
	}
	return tw.Flush()
}

// watchStat redraws the table every interval until ctx ends: a live view on a terminal,
// else one block per interval, each headed by a "# TIME" line (parseable plain text).
func watchStat(ctx context.Context, w io.Writer, api *runtimeapi.Client, backend string, interval time.Duration) error {
	if isTerminal(w) {
		return watchTerminal(ctx, w, api, backend, interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		st, err := readStat(ctx, api, backend)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		fmt.Fprintf(w, "# %s\n", time.Now().UTC().Format(time.RFC3339))
		if err := printStatTable(w, st); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
