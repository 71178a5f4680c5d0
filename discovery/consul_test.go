package discovery

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"harpy/livetest"
)

// TestConsulRealAgent: register, fail a check, recover, deregister — each seen by a
// blocking query; the agent stopped → an error Guard refuses; restarted with an empty
// catalog (index reset) → an empty answer Guard refuses too.
func TestConsulRealAgent(t *testing.T) {
	agent := livetest.StartConsul(t)
	cfg := api.DefaultConfig()
	cfg.Address = agent.HTTP
	cl, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := func(id string, port, weight int) {
		t.Helper()
		err := cl.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: id, Name: "db", Port: port, Address: "127.0.0.1",
			Weights: &api.AgentWeights{Passing: weight, Warning: 1},
			Check:   &api.AgentServiceCheck{CheckID: "check-" + id, TTL: "10m", Status: api.HealthPassing}})
		if err != nil {
			t.Fatal(err)
		}
	}
	reg("db1", 3306, 1)
	reg("db2", 3307, 3)

	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("  \n"), 0o600) // an empty token: the dev agent has no ACLs
	src := &Consul{Service: "db", Address: agent.HTTP, TokenFile: tokenFile, Wait: 20 * time.Second}
	ctx := t.Context()
	ans, err := src.Query(ctx)
	if err != nil || names(ans.Targets) != "db1_3306,db2_3307" || ans.Targets[0].Weight != 85 || ans.Targets[1].Weight != 256 {
		t.Fatalf("first answer %v, %v", ans.Targets, err)
	}

	// Each change wakes the blocking query well before its wait.
	step := func(what string, change func(), want string) {
		t.Helper()
		done := make(chan struct{})
		var ans Answer
		var err error
		start := time.Now()
		go func() {
			defer close(done)
			for {
				ans, err = src.Query(ctx)
				if err != nil || names(ans.Targets) == want || time.Since(start) > 15*time.Second {
					return
				}
			}
		}()
		time.Sleep(200 * time.Millisecond) // the query is blocking now
		change()
		<-done
		if names(ans.Targets) != want {
			t.Fatalf("%s: answer %s, %v; want %s", what, names(ans.Targets), err, want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s seen after %v: the blocking query did not wake", what, d)
		}
	}
	step("a failing check", func() {
		if err := cl.Agent().UpdateTTL("check-db2", "down", api.HealthCritical); err != nil {
			t.Fatal(err)
		}
	}, "db1_3306")
	step("a recovered check", func() { cl.Agent().UpdateTTL("check-db2", "up", api.HealthPassing) }, "db1_3306,db2_3307")
	step("a deregistration", func() { cl.Agent().ServiceDeregister("db1") }, "db2_3307")

	cur := ans.Targets
	agent.Stop()
	start := time.Now()
	defer func() { t.Logf("stop → restart took %v", time.Since(start)) }()
	_, err = src.Query(ctx)
	if err == nil {
		t.Fatal("a stopped agent answered")
	}
	if d := (Guard{}).Decide(cur, Answer{}, err); d.Refused == "" {
		t.Errorf("guard applied a failed query: %+v", d)
	}
	// The next query backs off instead of looping.
	qctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = src.Query(qctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("query right after a failure: %v, want it to wait (backoff)", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("a stopped agent took %v to fail", time.Since(start))
	}

	agent.Start(t) // -dev: an empty catalog, a much smaller index
	src.fails = 0
	restarted := time.Now()
	_, err = src.Query(ctx)
	t.Logf("first query after the restart: %v", time.Since(restarted))
	if d := time.Since(restarted); d > 5*time.Second {
		t.Errorf("the first query after a restart blocked for %v", d)
	}
	if !errors.Is(err, ErrEmpty) || src.index > 1000 {
		t.Errorf("restarted agent: %v (index %d), want an empty answer and the index reset", err, src.index)
	}
	if !strings.Contains(src.String(), "db") || strings.Contains(src.String(), tokenFile) {
		t.Errorf("String() = %q", src.String())
	}
}
