package renderonly

import (
	"context"
	_ "embed"
	"fmt"
	"text/template"

	"github.com/scibench/scibench/pkg/sched"
)

var (
	//go:embed pbs.tmpl
	pbsText string
	//go:embed cobalt.tmpl
	cobaltText string

	pbsTmpl    = template.Must(template.New("pbs.tmpl").Funcs(sched.FuncMap()).Parse(pbsText))
	cobaltTmpl = template.Must(template.New("cobalt.tmpl").Funcs(sched.FuncMap()).Parse(cobaltText))
)

// Backend renders job scripts for a scheduler scibench cannot drive from
// here; Submit, Status and Cancel return sched.ErrRenderOnly.
type Backend struct {
	name, ext, launcher string
	tmpl                *template.Template
}

var _ sched.Backend = (*Backend)(nil)

// PBS returns the PBS Pro backend (qsub scripts, mpiexec launch lines).
func PBS() *Backend {
	return &Backend{name: sched.PBS, ext: ".pbs", launcher: "mpiexec", tmpl: pbsTmpl}
}

// Cobalt returns the Cobalt backend (qsub scripts, Open MPI mpirun launch
// lines with COBALT_NODEFILE).
func Cobalt() *Backend {
	return &Backend{name: sched.Cobalt, ext: ".cobalt", launcher: "mpirun", tmpl: cobaltTmpl}
}

// RenderOnly implements sched.RenderOnly: true.
func (b *Backend) RenderOnly() bool { return true }

// Name implements sched.Backend.
func (b *Backend) Name() string { return b.name }

// ScriptExt implements sched.Backend.
func (b *Backend) ScriptExt() string { return b.ext }

// Render implements sched.Backend.
func (b *Backend) Render(spec sched.JobSpec) ([]byte, error) {
	if spec.Launcher != "" && spec.Launcher != b.launcher {
		return nil, fmt.Errorf("%w: %s: launcher %q (want %s)", sched.ErrRequest, b.name, spec.Launcher, b.launcher)
	}
	return sched.Execute(b.tmpl, spec)
}

func (b *Backend) unsupported(what string) error {
	return fmt.Errorf("%w: %s: cannot %s from scibench; submit the rendered script with the site's qsub", sched.ErrRenderOnly, b.name, what)
}

// Submit implements sched.Backend: always sched.ErrRenderOnly.
func (b *Backend) Submit(context.Context, string) (string, error) { return "", b.unsupported("submit") }

// Status implements sched.Backend: always sched.ErrRenderOnly.
func (b *Backend) Status(context.Context, string) (sched.State, error) {
	return sched.StateUnknown, b.unsupported("query jobs")
}

// Cancel implements sched.Backend: always sched.ErrRenderOnly.
func (b *Backend) Cancel(context.Context, string) error { return b.unsupported("cancel jobs") }
