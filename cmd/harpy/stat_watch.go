package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"golang.org/x/term"

	"harpy/runtimeapi"
)

// isTerminal: the live view only when stdout is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// highlightFor is how long a changed cell stays highlighted.
const highlightFor = 5 * time.Second

// sortModes of the live view, cycled with "s".
var sortModes = []string{"haproxy", "status", "sessions", "name"}

// watchView is the state of the live view between redraws.
type watchView struct {
	addr, version, backend string
	interval               time.Duration
	lines                  []StatLine
	changed                map[string]time.Time // proxy/server/column → when it last changed
	err                    error
	sortMode               int
	at                     time.Time
}

func cellKey(l StatLine, col int) string { return l.Proxy + "/" + l.Server + "/" + StatHeader[col] }

// update takes a new reading, noting which cells differ from the previous one.
func (v *watchView) update(lines []StatLine, now time.Time) {
	prev := map[string]string{}
	for _, l := range v.lines {
		for i, c := range l.Cells() {
			prev[cellKey(l, i)] = c
		}
	}
	first := v.lines == nil
	for _, l := range lines {
		for i, c := range l.Cells() {
			k := cellKey(l, i)
			// LASTCHG and RATE move by themselves; a change of state is what to see
			if StatHeader[i] == "LASTCHG" {
				continue
			}
			if old, ok := prev[k]; !first && (!ok || old != c) {
				v.changed[k] = now
			}
		}
	}
	v.lines, v.at, v.err = lines, now, nil
}

func (v *watchView) sorted() []StatLine {
	out := append([]StatLine(nil), v.lines...)
	switch sortModes[v.sortMode] {
	case "status":
		sort.SliceStable(out, func(i, j int) bool { return statusRank(out[i].Status) < statusRank(out[j].Status) })
	case "sessions":
		sort.SliceStable(out, func(i, j int) bool { return out[i].Sessions > out[j].Sessions })
	case "name":
		sort.SliceStable(out, func(i, j int) bool {
			return out[i].Proxy+"/"+out[i].Server < out[j].Proxy+"/"+out[j].Server
		})
	}
	return out
}

// statusRank puts the servers that need attention first.
func statusRank(s string) int {
	switch {
	case strings.HasPrefix(s, "DOWN"):
		return 0
	case strings.HasPrefix(s, "MAINT"):
		return 1
	case s == "DRAIN", s == "NOLB", strings.HasPrefix(s, "UP "):
		return 2
	}
	return 3
}

// statusStyle colours a status: green up/open, red down, yellow drain/transitional,
// blue maintenance.
func statusStyle(s string) tcell.Style {
	st := tcell.StyleDefault
	switch {
	case s == "UP" || s == "OPEN" || s == "no check":
		return st.Foreground(tcell.ColorGreen)
	case strings.HasPrefix(s, "DOWN"):
		return st.Foreground(tcell.ColorRed).Bold(true)
	case strings.HasPrefix(s, "MAINT"):
		return st.Foreground(tcell.ColorBlue).Bold(true)
	case s == "DRAIN" || s == "NOLB" || strings.HasPrefix(s, "UP "):
		return st.Foreground(tcell.ColorYellow)
	}
	return st
}

func drawText(s tcell.Screen, x, y int, text string, style tcell.Style) int {
	for _, r := range text {
		s.SetContent(x, y, r, nil, style)
		x++
	}
	return x
}

func (v *watchView) draw(s tcell.Screen, now time.Time) {
	s.Clear()
	w, h := s.Size()
	title := fmt.Sprintf("harpy stat  %s  HAProxy %s  every %s  sort: %s  (s sort, q quit)", v.addr, v.version, v.interval, sortModes[v.sortMode])
	drawText(s, 0, 0, title, tcell.StyleDefault.Bold(true))
	status := "read " + v.at.Format("15:04:05")
	lineStyle := tcell.StyleDefault.Dim(true)
	if v.err != nil {
		status = "error: " + v.err.Error()
		lineStyle = tcell.StyleDefault.Foreground(tcell.ColorRed)
	}
	drawText(s, 0, 1, status, lineStyle)
	lines := v.sorted()
	widths := make([]int, len(StatHeader))
	for i, hd := range StatHeader {
		widths[i] = len(hd)
	}
	cells := make([][]string, len(lines))
	for j, l := range lines {
		cells[j] = l.Cells()
		for i, c := range cells[j] {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	x := 0
	for i, hd := range StatHeader {
		drawText(s, x, 3, hd, tcell.StyleDefault.Bold(true).Underline(true))
		x += widths[i] + 2
	}
	for j, l := range lines {
		y := 4 + j
		if y >= h {
			break
		}
		x = 0
		for i, c := range cells[j] {
			st := tcell.StyleDefault
			if StatHeader[i] == "STATUS" {
				st = statusStyle(c)
			}
			if t, ok := v.changed[cellKey(l, i)]; ok && now.Sub(t) < highlightFor {
				st = st.Reverse(true)
			}
			drawText(s, x, y, c, st)
			x += widths[i] + 2
		}
	}
	_ = w
	s.Show()
}

// watchTerminal is the live view: a full-screen table redrawn in place (tcell diffs the
// cells, so nothing flickers), states coloured, cells that changed in the last seconds
// shown reversed. q, Esc or Ctrl-C quits; s cycles the sort order.
func watchTerminal(ctx context.Context, _ io.Writer, api *runtimeapi.Client, backend string, interval time.Duration) error {
	ver, err := api.Version(ctx)
	if err != nil {
		return err
	}
	s, err := tcell.NewScreen()
	if err != nil {
		return fmt.Errorf("watch: open the terminal: %w", err)
	}
	if err := s.Init(); err != nil {
		return fmt.Errorf("watch: open the terminal: %w", err)
	}
	defer s.Fini()
	v := &watchView{addr: api.Addr, version: ver.String(), backend: backend, interval: interval, changed: map[string]time.Time{}}
	events := make(chan tcell.Event, 8)
	quit := make(chan struct{})
	defer close(quit)
	go s.ChannelEvents(events, quit)
	read := func() {
		st, err := readStat(ctx, api, backend)
		if err != nil {
			v.err = err
			return
		}
		v.update(StatLines(st), time.Now())
	}
	read()
	v.draw(s, time.Now())
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			read()
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			switch ev := ev.(type) {
			case *tcell.EventKey:
				switch {
				case ev.Key() == tcell.KeyEscape, ev.Key() == tcell.KeyCtrlC, ev.Rune() == 'q':
					return nil
				case ev.Rune() == 's':
					v.sortMode = (v.sortMode + 1) % len(sortModes)
				}
			case *tcell.EventResize:
				s.Sync()
			}
		}
		v.draw(s, time.Now())
	}
}
