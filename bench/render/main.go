// Command render measures harpy's renderer: a 10,000-server profile loaded, rendered and
// checked with the real haproxy -c, and 1,000 per-host variants of an embedded profile.
// It prints a table; run it with bench/render.sh (or go run ./bench/render).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"harpy/check"
	"harpy/hversion"
	"harpy/profiles"
)

func main() {
	servers := flag.Int("servers", 10000, "servers in the big profile")
	hosts := flag.Int("hosts", 1000, "host variants to render")
	binary := flag.String("haproxy", "/usr/sbin/haproxy", "haproxy binary for -c")
	version := flag.String("target", "2.6", "HAProxy version to render for")
	flag.Parse()
	if err := run(context.Background(), *servers, *hosts, *binary, *version); err != nil {
		fmt.Fprintln(os.Stderr, "bench/render:", err)
		os.Exit(1)
	}
}

// bigProfile is a web-lb with n servers on loopback addresses (haproxy -c resolves nothing).
func bigProfile(n int) string {
	var b strings.Builder
	b.WriteString("extends = \"web-lb\"\n[[backend]]\nname = \"app\"\nservers = [\n")
	for i := range n {
		fmt.Fprintf(&b, "  { name = \"web%d\", address = \"127.%d.%d.%d:8080\" },\n", i, 1+i/65536, i/256%256, i%256)
	}
	b.WriteString("]\n")
	return b.String()
}

func run(ctx context.Context, nServers, nHosts int, binary, version string) error {
	v, err := hversion.Parse(version)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "harpy-bench-render-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "case\tunits\tload+validate\trender\thaproxy -c (cpu)\ttotal\tper unit\tcfg bytes\t\n")

	src := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(src, []byte(bigProfile(nServers)), 0o644); err != nil {
		return err
	}
	t0 := time.Now()
	p, err := profiles.Load(ctx, src)
	if err != nil {
		return err
	}
	t1 := time.Now()
	out, err := profiles.Render(p, profiles.Options{HAProxy: v})
	if err != nil {
		return err
	}
	t2 := time.Now()
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, out.HAProxyCfg, 0o644); err != nil {
		return err
	}
	t3 := time.Now()
	cpu0 := childCPU()
	if err := check.HAProxy(ctx, binary, cfg); err != nil {
		return err
	}
	t4 := time.Now()
	checkCPU := childCPU() - cpu0
	fmt.Fprintf(w, "%d-server profile (%s)\t%d\t%s\t%s\t%s (%s)\t%s\t%s\t%d\t\n", nServers, version, nServers,
		ms(t1.Sub(t0)), ms(t2.Sub(t1)), ms(t4.Sub(t3)), ms(checkCPU), ms(t4.Sub(t0)), us(t4.Sub(t0)/time.Duration(nServers)), len(out.HAProxyCfg))

	// Per-host variants: the embedded profile with host-specific overrides, as a fleet
	// render would do.
	var load, render time.Duration
	size := 0
	for i := range nHosts {
		sets := []string{
			fmt.Sprintf("frontend.main.bind=[\"127.0.%d.%d:80\"]", i/256, i%256),
			fmt.Sprintf("backend.app.servers=[{name=\"a\",address=\"127.1.%d.%d:8080\"},{name=\"b\",address=\"127.2.%d.%d:8080\"}]", i/256, i%256, i/256, i%256),
			fmt.Sprintf("global.maxconn=%d", 1000+i),
		}
		a := time.Now()
		p, err := profiles.Load(ctx, "web-lb", sets...)
		if err != nil {
			return err
		}
		b := time.Now()
		out, err := profiles.Render(p, profiles.Options{HAProxy: v})
		if err != nil {
			return err
		}
		render += time.Since(b)
		load += b.Sub(a)
		size += len(out.HAProxyCfg) + len(out.Rsyslog) + len(out.Logrotate)
	}
	fmt.Fprintf(w, "%d host variants of web-lb\t%d\t%s\t%s\t-\t%s\t%s\t%d\t\n", nHosts, nHosts,
		ms(load), ms(render), ms(load+render), us((load+render)/time.Duration(nHosts)), size/nHosts)
	return w.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d.Nanoseconds())/1000) }

// childCPU is the user+system CPU time used by finished child processes: haproxy -c's
// own cost, apart from waiting for a busy machine.
func childCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
