package runtimeapi

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// StatRow is one line of `show stat`, by column name: the column set grows with versions
// (62 in 1.6, 74 in 1.7, 84 in 2.4, more after the "-" marker), so the header is read and
// positions are never assumed.
type StatRow map[string]string

func (r StatRow) Proxy() string  { return r["pxname"] }
func (r StatRow) Server() string { return r["svname"] }

// Status is UP, DOWN, NOLB, MAINT, DRAIN, …; transitional states ("UP 1/2") keep their suffix.
func (r StatRow) Status() string { return r["status"] }

// Type is 0 frontend, 1 backend, 2 server, 3 listener (empty before the column existed).
func (r StatRow) Type() string { return r["type"] }

// IsServer reports whether the row is a server (not FRONTEND, BACKEND or a listener).
func (r StatRow) IsServer() bool {
	if t := r.Type(); t != "" {
		return t == "2"
	}
	s := r.Server()
	return s != "FRONTEND" && s != "BACKEND"
}

// Int is a numeric column, 0 when empty or absent.
func (r StatRow) Int(col string) int {
	n, _ := strconv.Atoi(r[col])
	return n
}

// Stats is a parsed `show stat`: its columns in HAProxy's order, and the rows.
type Stats struct {
	Columns []string
	Rows    []StatRow
}

// ParseStats reads the CSV that both `show stat` and the stats page's ";csv" return.
func ParseStats(rd io.Reader) (*Stats, error) {
	br := bufio.NewReader(rd)
	var head string
	for {
		l, err := br.ReadString('\n')
		if err != nil && l == "" {
			return nil, fmt.Errorf("read stat header: %w", err)
		}
		if strings.TrimSpace(l) != "" {
			head = l
			break
		}
	}
	head = strings.TrimSpace(head)
	if !strings.HasPrefix(head, "# ") {
		return nil, fmt.Errorf("not a stat CSV: it starts with %q, not with \"# pxname,…\"", trunc(head, 60))
	}
	cols := strings.Split(strings.TrimSuffix(strings.TrimPrefix(head, "# "), ","), ",")
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c] && c != "-" {
			return nil, fmt.Errorf("stat CSV header names column %q twice", c)
		}
		seen[c] = true
	}
	if !seen["pxname"] || !seen["svname"] {
		return nil, fmt.Errorf("stat CSV header lacks pxname or svname: %q", trunc(head, 60))
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	st := &Stats{Columns: cols}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read stat CSV: %w", err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		row := StatRow{}
		for i, c := range cols {
			if i < len(rec) && c != "-" {
				row[c] = rec[i]
			}
		}
		st.Rows = append(st.Rows, row)
	}
	if len(st.Rows) == 0 {
		return nil, fmt.Errorf("stat CSV has a header but no rows")
	}
	return st, nil
}

// ParseStat is ParseStats' rows.
func ParseStat(rd io.Reader) ([]StatRow, error) {
	st, err := ParseStats(rd)
	if err != nil {
		return nil, err
	}
	return st.Rows, nil
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Find returns the row of proxy/server, or nil.
func Find(rows []StatRow, proxy, server string) StatRow {
	for _, r := range rows {
		if r.Proxy() == proxy && r.Server() == server {
			return r
		}
	}
	return nil
}

// Stat runs `show stat`.
func (c *Client) Stat(ctx context.Context) (*Stats, error) {
	out, err := c.Command(ctx, "show stat")
	if err != nil {
		return nil, err
	}
	st, err := ParseStats(strings.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("stats socket %s: show stat: %w", c.Addr, err)
	}
	return st, nil
}

// Server reads one server's row, or an *UnknownError listing the close names.
func (c *Client) Server(ctx context.Context, backend, server string) (StatRow, error) {
	st, err := c.Stat(ctx)
	if err != nil {
		return nil, err
	}
	return st.Server(backend, server)
}

// Server finds backend/server in st, or returns an *UnknownError listing the close names.
func (st *Stats) Server(backend, server string) (StatRow, error) {
	if r := Find(st.Rows, backend, server); r != nil && r.IsServer() {
		return r, nil
	}
	if err := st.HasBackend(backend); err != nil {
		return nil, err
	}
	var names []string
	for _, r := range st.Rows {
		if r.Proxy() == backend && r.IsServer() {
			names = append(names, backend+"/"+r.Server())
		}
	}
	return nil, unknownError("server", backend+"/"+server, names)
}

// HasBackend returns nil when st has the backend, else an *UnknownError.
func (st *Stats) HasBackend(backend string) error {
	var names []string
	for _, r := range st.Rows {
		if r.Server() == "BACKEND" {
			if r.Proxy() == backend {
				return nil
			}
			names = append(names, r.Proxy())
		}
	}
	return unknownError("backend", backend, names)
}
