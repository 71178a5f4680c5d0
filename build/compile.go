package build

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"harpy/hint"
)

type compileStep struct{}

func (compileStep) String() string     { return "compile" }
func (compileStep) Skip(s *State) bool { return s.cached() }
func (compileStep) Run(ctx context.Context, s *State) error {
	// Roughly one object per source file: good enough for a percentage.
	srcs, _ := filepath.Glob(filepath.Join(s.Src, "src", "*.c"))
	args := append([]string{"-j" + strconv.Itoa(s.Opts.Jobs)}, s.Result.MakeArgs...)
	s.logf("compile: make %s", strings.Join(args, " "))
	return s.make(ctx, args, len(srcs))
}

// make runs make in the source tree, appending its output to build.log and reporting
// progress from the "CC" lines; on failure the error carries the log's tail.
func (s *State) make(ctx context.Context, args []string, expect int) error {
	logPath := filepath.Join(s.Work, "build.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "$ make %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.Dir = s.Src
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var tail []string
		n, last := 0, time.Now()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			tail = append(tail, line)
			if len(tail) > 25 {
				tail = tail[1:]
			}
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "CC" {
				n++
				if expect > 0 && time.Since(last) > 2*time.Second {
					last = time.Now()
					s.logf("compile: %d%% (%s)", min(99, n*100/expect), f[1])
				}
			}
		}
		io.Copy(io.Discard, pr)
		s.makeTail = tail
	}()
	err = cmd.Run()
	pw.Close()
	wg.Wait()
	if err != nil {
		if ctx.Err() != nil {
			s.discardWork()
			return ctx.Err()
		}
		tail := strings.Join(s.makeTail, "\n    ")
		kept := s.discardWork()
		return hint.With(fmt.Errorf("make %s failed (%v); last lines:\n    %s", args[len(args)-1], err, tail), "%s", fmt.Sprintf("read the full log: %s", kept))
	}
	return nil
}
