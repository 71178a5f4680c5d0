package watch

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /healthz, /status (JSON) and /metrics (Prometheus) for a watcher.
// Nothing secret is in any of them: sources are named by String(), which never holds a
// token.
func (w *Watcher) Handler() http.Handler {
	reg := prometheus.NewRegistry()
	counter := func(name, help string, get func(Stats) int) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "harpy_watch", Name: name, Help: help},
			func() float64 { st, _ := w.Status(); return float64(get(st)) }))
	}
	counter("queries_total", "Source queries answered.", func(s Stats) int { return s.Queries })
	counter("refused_answers_total", "Answers refused by the guard (error, empty, below the minimum pool).", func(s Stats) int { return s.Refused })
	counter("changes_total", "Server changes applied.", func(s Stats) int { return s.Changes })
	counter("commands_total", "Runtime API commands sent.", func(s Stats) int { return s.Commands })
	counter("reloads_total", "Reloads made because a change could not be made at run time.", func(s Stats) int { return s.Reloads })
	counter("failures_total", "Steps that failed (socket, config write, reload).", func(s Stats) int { return s.Failures })
	servers := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "harpy_watch", Name: "servers", Help: "Servers applied per backend."}, []string{"backend"})
	reg.MustRegister(servers)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		st, _ := w.Status()
		if !st.LastError.IsZero() && st.LastError.After(st.LastChange) && time.Since(st.LastError) < time.Minute {
			http.Error(rw, "last step failed: "+st.LastErrorText, http.StatusServiceUnavailable)
			return
		}
		rw.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /status", func(rw http.ResponseWriter, _ *http.Request) {
		st, cur := w.Status()
		type server struct {
			Name, Address string
			Weight        int
			Backup        bool
		}
		type backend struct {
			Name, Source string
			Servers      []server
		}
		out := struct {
			Stats
			Backends []backend
		}{Stats: st}
		for _, b := range w.Backends {
			bk := backend{Name: b.Name, Source: b.Source.String(), Servers: []server{}}
			for _, t := range cur[b.Name] {
				bk.Servers = append(bk.Servers, server{t.Name, t.Addr.String() + ":" + strconv.Itoa(int(t.Port)), t.Weight, t.Backup})
			}
			out.Backends = append(out.Backends, bk)
		}
		rw.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(rw)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	})
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux.HandleFunc("GET /metrics", func(rw http.ResponseWriter, r *http.Request) {
		_, cur := w.Status()
		for _, b := range w.Backends {
			servers.WithLabelValues(b.Name).Set(float64(len(cur[b.Name])))
		}
		metrics.ServeHTTP(rw, r)
	})
	return mux
}
