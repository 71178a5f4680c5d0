package livetest

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// StatRow is one line of HAProxy's `show stat` CSV, by column name (the column set grows
// with versions, so the header is read rather than positions assumed).
type StatRow map[string]string

func (r StatRow) Proxy() string  { return r["pxname"] }
func (r StatRow) Server() string { return r["svname"] }

// Status is UP, DOWN, NOLB, MAINT, …; transitional states ("UP 1/2") keep their suffix.
func (r StatRow) Status() string { return r["status"] }

// ParseStat reads the CSV that both `show stat` and the stats page's ";csv" return.
func ParseStat(rd io.Reader) ([]StatRow, error) {
	br := bufio.NewReader(rd)
	head, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("read stat header: %w", err)
	}
	head = strings.TrimPrefix(strings.TrimSpace(head), "# ")
	cols := strings.Split(strings.TrimSuffix(head, ","), ",")
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	var rows []StatRow
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
			if i < len(rec) {
				row[c] = rec[i]
			}
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("stat CSV has a header but no rows")
	}
	return rows, nil
}

// SocketCommand sends one command to an HAProxy stats socket and returns the answer.
func SocketCommand(ctx context.Context, socket, cmd string) (string, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return "", fmt.Errorf("stats socket %s: %w", socket, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", fmt.Errorf("stats socket %s: send %q: %w", socket, cmd, err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return "", fmt.Errorf("stats socket %s: read answer to %q: %w", socket, cmd, err)
	}
	return string(b), nil
}

// SocketStat runs `show stat` on a stats socket.
func SocketStat(ctx context.Context, socket string) ([]StatRow, error) {
	out, err := SocketCommand(ctx, socket, "show stat")
	if err != nil {
		return nil, err
	}
	return ParseStat(strings.NewReader(out))
}

// PageStat reads a stats page's CSV export (uri + ";csv").
func PageStat(ctx context.Context, url string) ([]StatRow, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+";csv", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("stats page %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("stats page %s: %s", url, resp.Status)
	}
	return ParseStat(resp.Body)
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
