package sched

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scibench/scibench/pkg/config"
)

// Scheduler names a batch system.
const (
	Slurm  = "slurm"
	LSF    = "lsf"
	PBS    = "pbs"
	Cobalt = "cobalt"
)

// launchers lists the launchers each scheduler's templates know.
var launchers = map[string][]string{
	Slurm:  {"srun"},
	LSF:    {"jsrun"},
	PBS:    {"mpiexec"},
	Cobalt: {"mpirun"},
}

// Profile describes one cluster: what a node has and how jobs are written
// for it. It is read from configs/clusters/<name>.yaml by LoadProfile.
type Profile struct {
	Name         string `yaml:"name"`
	Description  string `yaml:"description"`
	Scheduler    string `yaml:"scheduler"`      // slurm | lsf | pbs | cobalt
	Launcher     string `yaml:"launcher"`       // srun | jsrun | mpiexec | mpirun
	MaxNodes     int    `yaml:"max_nodes"`      // largest job the profile allows
	GPUsPerNode  int    `yaml:"gpus_per_node"`  // 0: CPU-only nodes
	CoresPerNode int    `yaml:"cores_per_node"` // usable cores per node
	// TasksPerNode is the number of workers per node on CPU-only
	// profiles (default 1); with GPUs it is one per GPU.
	TasksPerNode int    `yaml:"tasks_per_node"`
	Walltime     string `yaml:"walltime"` // default job time limit, HH:MM:SS or HH:MM
	Queue        string `yaml:"queue"`    // partition / queue, "" = site default
	Account      string `yaml:"account"`  // project to charge, "" = none
	// Modules are loaded with `module load NAME` (each name quoted).
	Modules []string `yaml:"modules"`
	// Env is exported in the job script (values quoted).
	Env map[string]string `yaml:"env"`
	// LauncherArgs are extra arguments of the launch line (each quoted).
	LauncherArgs []string `yaml:"launcher_args"`
	// Directives are extra scheduler option lines written verbatim after
	// the scheduler's prefix (#SBATCH, #BSUB, ...), e.g. "--constraint=gpu".
	Directives []string `yaml:"directives"`
	// Binary is the scibench executable on the cluster ("" = the path of
	// the submitting binary).
	Binary string `yaml:"binary"`
	// File is where the profile was read from (not a YAML key).
	File string `yaml:"-"`
	// lines maps top-level keys to their line in File, for messages.
	lines map[string]int
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// SlotsPerNode is the number of workers one node runs: one per GPU, or
// TasksPerNode (default 1) on CPU-only nodes.
func (p *Profile) SlotsPerNode() int {
	if p.GPUsPerNode > 0 {
		return p.GPUsPerNode
	}
	return max(1, p.TasksPerNode)
}

// WalltimeDuration parses Walltime ("" means one hour).
func (p *Profile) WalltimeDuration() (time.Duration, error) {
	if p.Walltime == "" {
		return time.Hour, nil
	}
	return ParseWalltime(p.Walltime)
}

// ParseWalltime parses HH:MM:SS, HH:MM or a Go duration ("90m").
func ParseWalltime(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("walltime %q: want HH:MM:SS, HH:MM or a duration such as 90m", s)
	}
	var n [3]int
	for i, part := range parts {
		if part == "" || len(part) > 5 {
			return 0, fmt.Errorf("walltime %q: bad field %q", s, part)
		}
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("walltime %q: bad field %q", s, part)
			}
			n[i] = n[i]*10 + int(c-'0')
		}
	}
	if len(parts) == 2 {
		n[2] = 0
	}
	if n[1] > 59 || n[2] > 59 {
		return 0, fmt.Errorf("walltime %q: minutes and seconds must be below 60", s)
	}
	d := time.Duration(n[0])*time.Hour + time.Duration(n[1])*time.Minute + time.Duration(n[2])*time.Second
	if d <= 0 {
		return 0, fmt.Errorf("walltime %q must be positive", s)
	}
	return d, nil
}

// keyErr is a validation error naming the key (and its line when known).
func (p *Profile) keyErr(key, format string, args ...any) error {
	top := key
	if i := strings.IndexAny(key, ".["); i >= 0 {
		top = key[:i]
	}
	return &config.Error{File: p.File, Line: p.lines[top], Key: key, Msg: fmt.Sprintf(format, args...), Err: ErrProfile}
}

// Validate checks the profile strictly; each error names the key.
func (p *Profile) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, p.keyErr(key, format, args...)) }
	if p.Name == "" {
		bad("name", "missing")
	} else if err := CheckDirective("name", p.Name); err != nil {
		bad("name", "%v", err)
	}
	known, ok := launchers[p.Scheduler]
	switch {
	case p.Scheduler == "":
		bad("scheduler", "missing (want slurm, lsf, pbs or cobalt)")
	case !ok:
		bad("scheduler", "unknown scheduler %q (want slurm, lsf, pbs or cobalt)", p.Scheduler)
	case p.Launcher == "":
		p.Launcher = known[0]
	case !slices.Contains(known, p.Launcher):
		bad("launcher", "launcher %q does not go with scheduler %s (want %s)", p.Launcher, p.Scheduler, strings.Join(known, " or "))
	}
	if p.MaxNodes < 1 {
		bad("max_nodes", "must be at least 1, got %d", p.MaxNodes)
	}
	if p.GPUsPerNode < 0 || p.GPUsPerNode > 64 {
		bad("gpus_per_node", "must be in [0,64], got %d", p.GPUsPerNode)
	}
	if p.CoresPerNode < 1 {
		bad("cores_per_node", "must be at least 1, got %d", p.CoresPerNode)
	}
	if p.TasksPerNode < 0 {
		bad("tasks_per_node", "must not be negative, got %d", p.TasksPerNode)
	}
	if p.GPUsPerNode > 0 && p.TasksPerNode > 0 && p.TasksPerNode != p.GPUsPerNode {
		bad("tasks_per_node", "%d differs from gpus_per_node %d: GPU profiles run one worker per GPU", p.TasksPerNode, p.GPUsPerNode)
	}
	if p.CoresPerNode >= 1 && p.SlotsPerNode() > p.CoresPerNode {
		bad("cores_per_node", "%d cores cannot run %d workers per node", p.CoresPerNode, p.SlotsPerNode())
	}
	if _, err := p.WalltimeDuration(); err != nil {
		bad("walltime", "%v", err)
	}
	for _, kv := range [][2]string{{"queue", p.Queue}, {"account", p.Account}} {
		if kv[1] != "" && !directiveSafe(kv[1]) {
			bad(kv[0], "%q: only printable characters without spaces, quotes or shell metacharacters", kv[1])
		}
	}
	for i, m := range p.Modules {
		if strings.TrimSpace(m) == "" || strings.ContainsAny(m, "\n\r\x00") {
			bad(fmt.Sprintf("modules[%d]", i), "empty or contains a line break: %q", m)
		}
	}
	for _, k := range sortedKeys(p.Env) {
		if !envName.MatchString(k) || strings.HasPrefix(k, "SCIBENCH_TOKEN") {
			bad("env."+k, "not a usable environment variable name")
		}
		if strings.ContainsRune(p.Env[k], 0) {
			bad("env."+k, "value contains NUL")
		}
	}
	for i, a := range p.LauncherArgs {
		if strings.ContainsRune(a, 0) {
			bad(fmt.Sprintf("launcher_args[%d]", i), "contains NUL")
		}
	}
	for i, d := range p.Directives {
		if strings.TrimSpace(d) == "" || !strings.HasPrefix(d, "-") {
			bad(fmt.Sprintf("directives[%d]", i), "%q: want a scheduler option starting with -", d)
		} else if err := checkLine(fmt.Sprintf("directives[%d]", i), d); err != nil {
			bad(fmt.Sprintf("directives[%d]", i), "%v", err)
		} else if strings.ContainsAny(d, "$`\\") {
			bad(fmt.Sprintf("directives[%d]", i), "%q: no $, ` or \\ in a directive", d)
		}
	}
	if strings.ContainsAny(p.Binary, "\n\r\x00") {
		bad("binary", "contains a line break or NUL")
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// DecodeProfile parses and validates a profile from YAML; name is used in
// errors (usually the file path). Unknown keys are errors.
func DecodeProfile(name string, data []byte) (*Profile, error) {
	p := &Profile{File: name}
	if err := config.Decode(name, data, p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProfile, err)
	}
	p.File = name
	var root yaml.Node
	if yaml.Unmarshal(data, &root) == nil && len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		m := root.Content[0]
		p.lines = make(map[string]int, len(m.Content)/2)
		for i := 0; i+1 < len(m.Content); i += 2 {
			p.lines[m.Content[i].Value] = m.Content[i].Line
		}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// ProfilePath resolves a profile reference: a path (containing a slash or
// ending in .yaml) is used as is, a bare name becomes dir/<name>.yaml.
func ProfilePath(dir, ref string) string {
	if strings.ContainsRune(ref, '/') || strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml") {
		return ref
	}
	return filepath.Join(dir, ref+".yaml")
}

// LoadProfile reads dir/<ref>.yaml (or the path ref) and validates it. A
// missing profile is ErrNoProfile and lists the profiles in dir.
func LoadProfile(dir, ref string) (*Profile, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: no profile given (available in %s: %s)", ErrNoProfile, dir, strings.Join(ListProfiles(dir), ", "))
	}
	path := ProfilePath(dir, ref)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q (no file %s; available in %s: %s)", ErrNoProfile, ref, path, dir, strings.Join(ListProfiles(dir), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoProfile, path, err)
	}
	return DecodeProfile(path, data)
}

// ListProfiles returns the profile names in dir, sorted.
func ListProfiles(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	names := make([]string, 0, len(m))
	for _, f := range m {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	sort.Strings(names)
	return names
}
