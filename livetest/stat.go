package livetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"harpy/runtimeapi"
)

// The Runtime API client lives in runtimeapi; these names keep the scenarios short.
type StatRow = runtimeapi.StatRow

// ParseStat reads the CSV that both `show stat` and the stats page's ";csv" return.
func ParseStat(rd io.Reader) ([]StatRow, error) {
	return runtimeapi.ParseStat(rd)
}

// Find returns the row of proxy/server, or nil.
func Find(rows []StatRow, proxy, server string) StatRow { return runtimeapi.Find(rows, proxy, server) }

// SocketCommand sends one command, as given, to an HAProxy stats socket and returns the answer.
func SocketCommand(ctx context.Context, socket, cmd string) (string, error) {
	return runtimeapi.New(socket).Raw(ctx, cmd)
}

// SocketStat runs `show stat` on a stats socket.
func SocketStat(ctx context.Context, socket string) ([]StatRow, error) {
	st, err := runtimeapi.New(socket).Stat(ctx)
	if err != nil {
		return nil, err
	}
	return st.Rows, nil
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
	return runtimeapi.ParseStat(resp.Body)
}
