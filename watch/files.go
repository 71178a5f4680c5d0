package watch

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"text/template"

	"harpy/apply"
	"harpy/discovery"
	"harpy/hint"
	"harpy/safefile"
)

// File is another file rendered from the same servers (consul-template's second shape:
// an /etc/hosts fragment listing the live load balancers, a client's config), with its
// own check and reload. It goes through the same apply transaction as haproxy.cfg.
type File struct {
	Path     string             // where it is installed, e.g. /etc/hosts.d/lb
	Template *template.Template // executed with FileData
	// Check runs before the staged file replaces anything; "{{staged}}" in an argument is
	// the staged file's path. Empty: no check.
	Check []string
	// Reload runs after the file changed. Empty: none.
	Reload []string
	Target apply.Target // nil means the host's root
}

// FileData is what a file template sees.
type FileData struct {
	// Backends maps each backend to its servers, sorted by name: {{range .Backends.app}}
	// {{.Addr}} {{.Name}}{{end}}
	Backends map[string][]discovery.Target
}

// ParseFileTemplate reads a template file (bounded, regular files only).
func ParseFileTemplate(path string) (*template.Template, error) {
	b, err := safefile.ReadFile(path, safefile.MaxConfig)
	if err != nil {
		return nil, hint.Input(hint.With(fmt.Errorf("read template: %w", err), "name a readable text/template file"))
	}
	t, err := template.New(path).Option("missingkey=error").Parse(string(b))
	if err != nil {
		return nil, hint.Input(hint.With(fmt.Errorf("template %s: %w", path, err), "fix the template; it is Go's text/template with .Backends"))
	}
	return t, nil
}

// Write renders the file for the servers and installs it if it changed.
func (f *File) Write(ctx context.Context, servers map[string][]discovery.Target) (changed bool, err error) {
	data := FileData{Backends: map[string][]discovery.Target{}}
	for k, v := range servers {
		v = slices.Clone(v)
		slices.SortFunc(v, func(a, b discovery.Target) int { return cmp.Compare(a.Name, b.Name) })
		data.Backends[k] = v
	}
	var b bytes.Buffer
	if err := f.Template.Execute(&b, data); err != nil {
		return false, hint.Input(hint.With(fmt.Errorf("render %s: %w", f.Path, err), "fix the template"))
	}
	t := f.Target
	if t == nil {
		t = apply.LocalTarget{Root: "/"}
	}
	tx := apply.Tx{Target: t, Files: []apply.File{{Name: f.Path, Data: b.Bytes(), Mode: 0o644}}}
	if len(f.Check) > 0 {
		tx.Validate = apply.Checker(func(ctx context.Context, staged map[string]string) error {
			argv := make([]string, len(f.Check))
			for i, a := range f.Check {
				argv[i] = strings.ReplaceAll(a, "{{staged}}", staged[f.Path])
			}
			out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
			if err != nil {
				return hint.With(fmt.Errorf("check of %s refused it: %s: %w\n%s", f.Path, strings.Join(argv, " "), err, bytes.TrimSpace(out)),
					"the file was not replaced; fix the template or the check command")
			}
			return nil
		})
	}
	if len(f.Reload) > 0 {
		tx.Reload = apply.Command{Argv: f.Reload}
	}
	res, err := tx.Run(ctx)
	return len(res.Written) > 0, err
}
