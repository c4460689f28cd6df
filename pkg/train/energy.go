package train

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// EnergyMeter is what the loop reads energy from; *energy.Meter satisfies
// it. Joules is cumulative (any origin); Source names what is measured
// ("rapl", "nvml+rapl").
type EnergyMeter interface {
	Joules() (float64, error)
	Source() string
}

// EpochEnergy is the energy of one epoch's training phase (the interval of
// train_time_s), summed over the ranks that measure.
type EpochEnergy struct {
	Joules          float64 `json:"joules"`
	JoulesPerSample float64 `json:"joules_per_sample"` // Joules / samples of the epoch
}

// EnergyResult is the energy account of a Run, identical on every rank.
// When a measuring rank could not read its meter, or no rank has one but
// some rank gave a reason (Config.EnergyUnavailable), Source is
// "not available: rank R: <reason>" and the numbers are zero.
type EnergyResult struct {
	Source string `json:"source"`
	Ranks  int    `json:"ranks"` // ranks that measured
	// Joules covers the whole Run of this invocation: epochs, evaluations,
	// checkpoints.
	Joules float64 `json:"joules,omitempty"`
	// TrainJoules is the sum over this invocation's epochs of their
	// training-phase energy; JoulesPerSample divides it by the samples
	// trained in them.
	TrainJoules     float64 `json:"train_joules,omitempty"`
	JoulesPerSample float64 `json:"joules_per_sample,omitempty"`
}

// energyProbe reads this rank's meter, remembering the first failure.
type energyProbe struct {
	m   EnergyMeter
	err error
}

// read returns the meter's joules; ok is false without a meter or on a
// failed read.
func (p *energyProbe) read() (j float64, ok bool) {
	if p.m == nil {
		return 0, false
	}
	j, err := p.m.Joules()
	if err != nil {
		if p.err == nil {
			p.err = err
		}
		return 0, false
	}
	return j, true
}

// epochVector is this rank's share of an epoch's energy, appended to the
// loss sum the loop already reduces: joules, 1 if measured, 1 if the
// meter failed.
func (p *energyProbe) epochVector(j0, j1 float64, ok0, ok1 bool) [3]float64 {
	switch {
	case p.m == nil:
		return [3]float64{}
	case ok0 && ok1:
		return [3]float64{j1 - j0, 1, 0}
	default:
		return [3]float64{0, 0, 1}
	}
}

// epochEnergy turns the summed vector into the epoch's record, nil when
// no rank measured or one failed.
func epochEnergy(sum []float64, samples int) *EpochEnergy {
	if len(sum) < 3 || sum[1] == 0 || sum[2] != 0 {
		return nil
	}
	return &EpochEnergy{Joules: sum[0], JoulesPerSample: sum[0] / float64(samples)}
}

// rankEnergy is what each rank contributes to EnergyResult.
type rankEnergy struct {
	Status string  `json:"s"` // "" (not measuring), "ok:<source>" or "na:<reason>"
	Joules float64 `json:"j"`
}

// gatherEnergy builds res.Energy from every rank's run total; every rank
// must call it. unavailable is Config.EnergyUnavailable.
func gatherEnergy(ctx context.Context, c Comm, p *energyProbe, j0 float64, ok0 bool, unavailable string, res *Result, epochs []EpochRecord) error {
	var mine rankEnergy
	switch {
	case p.m == nil && unavailable != "":
		mine.Status = "na:" + unavailable
	case p.m == nil:
	default:
		j1, ok1 := p.read()
		if ok0 && ok1 && p.err == nil {
			mine = rankEnergy{Status: "ok:" + p.m.Source(), Joules: j1 - j0}
		} else {
			mine.Status = fmt.Sprintf("na:%v", p.err)
		}
	}
	b, err := json.Marshal(mine)
	if err != nil {
		return fmt.Errorf("%w: energy of rank %d: %w", ErrComm, c.Rank(), err)
	}
	all, err := GatherBytes(ctx, c, b)
	if err != nil {
		return err
	}
	var er EnergyResult
	var sources []string
	measured := false
	for r, raw := range all {
		var x rankEnergy
		if err := json.Unmarshal(raw, &x); err != nil {
			return fmt.Errorf("%w: energy of rank %d: %w", ErrComm, r, err)
		}
		kind, rest, _ := strings.Cut(x.Status, ":")
		switch kind {
		case "ok":
			measured = true
			er.Ranks++
			er.Joules += x.Joules
			if !slices.Contains(sources, rest) {
				sources = append(sources, rest)
			}
		case "na":
			measured = true
			if er.Source == "" {
				er.Source = fmt.Sprintf("not available: rank %d: %s", r, strings.TrimPrefix(rest, "not available: "))
			}
		}
	}
	if !measured {
		return nil
	}
	if er.Source != "" {
		res.Energy = &EnergyResult{Source: er.Source}
		return nil
	}
	slices.Sort(sources)
	er.Source = strings.Join(sources, ",")
	samples := 0
	for _, e := range epochs {
		if e.Energy == nil {
			res.Energy = &EnergyResult{Source: "not available: no energy for epoch " + fmt.Sprint(e.Epoch)}
			return nil
		}
		er.TrainJoules += e.Energy.Joules
		samples += res.TrainSamples
	}
	if samples > 0 {
		er.JoulesPerSample = er.TrainJoules / float64(samples)
	}
	res.Energy = &er
	return nil
}
